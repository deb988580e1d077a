import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { PortalPaths, TokenGetRequest, TokenReply } from '@app/portal-contracts';
import { SimEndpoint } from '../common/sim-endpoint.decorator';
import { AppTokenService } from './app-token.service';

/** The APIM token service. */
@Controller()
export class GatewayController {
  constructor(private readonly tokens: AppTokenService) {}

  @Post(PortalPaths.tokenGet)
  @HttpCode(200)
  @SimEndpoint('tokenGet', { wire: 'token' })
  get(@Body() body: Partial<TokenGetRequest> | undefined): TokenReply {
    return this.tokens.issue(body, false);
  }

  @Post(PortalPaths.tokenRefresh)
  @HttpCode(200)
  @SimEndpoint('tokenRefresh', { wire: 'token' })
  refresh(@Body() body: Partial<TokenGetRequest> | undefined): TokenReply {
    return this.tokens.issue(body, true);
  }
}
