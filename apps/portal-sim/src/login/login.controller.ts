import { Body, Controller, Get, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { LoginRequest, PortalCode, PortalEnvelope, PortalPaths, SessionSetRequest, UserTokenData } from '@app/portal-contracts';
import { SIM_CONFIG, SimConfig } from '../config/sim-config';
import { PortalError, badRequest } from '../common/portal-error';
import { SimEndpoint } from '../common/sim-endpoint.decorator';
import { SimStore } from '../data/sim-store.service';
import { UserTokenService } from './user-token.service';

/** Log In, Choose Organization and the JWKS of the user tokens. */
@Controller()
export class LoginController {
  constructor(
    @Inject(SIM_CONFIG) private readonly config: SimConfig,
    private readonly store: SimStore,
    private readonly tokens: UserTokenService,
  ) {}

  @Post(PortalPaths.login)
  @HttpCode(200)
  @SimEndpoint('login')
  async login(@Body() body: Partial<LoginRequest> | undefined): Promise<PortalEnvelope<UserTokenData>> {
    if (typeof body?.account !== 'string' || !body.account) throw badRequest('account is required');
    if (typeof body.password !== 'string') throw badRequest('password is required');
    if (body.password !== this.config.userPassword || !this.store.userExists(body.account)) {
      throw new PortalError(PortalCode.InvalidUserToken, 'Wrong account or password');
    }
    return { code: 0, message: 'OK', data: await this.tokens.issue({ sub: body.account }) };
  }

  @Post(PortalPaths.sessionSet)
  @HttpCode(200)
  @SimEndpoint('sessionSet')
  async sessionSet(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: Partial<SessionSetRequest> | undefined,
  ): Promise<PortalEnvelope<UserTokenData>> {
    const claims = await this.tokens.verifyBearer(authorization);
    if (typeof body?.orgId !== 'string' || !body.orgId) throw badRequest('orgId is required');
    if (!this.store.org(body.orgId)?.users.has(claims.sub)) throw new PortalError(PortalCode.NotFound, 'The user is not in the organization');
    return { code: 0, message: 'OK', data: await this.tokens.issue({ sub: claims.sub, orgId: body.orgId }) };
  }

  @Get(PortalPaths.jwks)
  jwks() {
    return this.tokens.jwks();
  }
}
