import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { SimDataError } from '../data/sim-store.service';

/** Admin data errors as plain HTTP errors `{ message }`. */
@Catch(SimDataError)
export class SimDataErrorFilter implements ExceptionFilter {
  catch(err: SimDataError, host: ArgumentsHost): void {
    void host.switchToHttp().getResponse<FastifyReply>().status(err.status).send({ message: err.message });
  }
}
