import { Body, Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Access } from '../auth/access.decorator';
import { AppException } from '../common/app.exception';
import { ApiCached, ApiConsistent, ApiProblems, READ_ERRORS } from '../common/api-docs';
import { ErrorCode } from '../common/error-code';
import { cacheHeaders, callerOf, sendJson, wantsBypass } from '../common/http';
import { ConsistencyTokens } from '../common/consistency';
import { readHeaders } from '../common/read-answer';
import { parseAll } from '../common/validation';
import { AccessService } from './access.service';
import { parseChecks } from './access-checks.request';
import { AccessChecksRequestDto, AccessChecksResultDto } from './dto/access-checks.dto';

/** Permission checks: may this user access this asset? Thousands per request, answered from cached sets. */
@ApiTags('access')
@ApiSecurity('apiKey')
@ApiSecurity('bearer')
@Controller('v1/orgs/:orgId/access-checks')
export class AccessController {
  constructor(
    private readonly access: AccessService,
    private readonly tokens: ConsistencyTokens,
  ) {}

  @Post()
  @HttpCode(200)
  @Access({ scope: 'assets:read', users: 'org' })
  @ApiOperation({ summary: 'One result per check in request order; a user unknown to the OU is allowed: false' })
  @ApiParam({ name: 'orgId' })
  @ApiBody({ type: AccessChecksRequestDto })
  @ApiCached()
  @ApiConsistent()
  @ApiOkResponse({ type: AccessChecksResultDto })
  @ApiProblems(...READ_ERRORS, 413)
  async check(@Param() p: { orgId: string }, @Body() body: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const [checks, notBefore] = parseAll(
      () => parseChecks(body),
      () => this.tokens.notBefore(req),
    );
    const caller = callerOf(req);
    if (caller.kind === 'user' && checks.some((c) => c.userId !== caller.userId)) throw new AppException(ErrorCode.Forbidden, 'A user may check only itself');
    const r = await this.access.check(p.orgId, checks, wantsBypass(req), notBefore);
    cacheHeaders(reply, r.status, r.ageS);
    this.tokens.send(reply, r.loadedAt);
    readHeaders(reply);
    sendJson(reply, { results: r.results });
  }
}
