import { Body, Controller, Delete, Get, HttpCode, HttpException, Param, Post, Put, UseFilters } from '@nestjs/common';
import { PortalEndpointName, PortalPaths } from '@app/portal-contracts';
import { SimCounters, SimCreateOrg, SimCreateUser, SimFault, SimOrgDetail, SimOrgSummary, SimPageDrift, SimQuirks } from '@app/sim-contracts';
import { CallRecorder } from '../calls/call-recorder.service';
import { SimControl } from '../calls/sim-control.service';
import { SimStore } from '../data/sim-store.service';
import { AppTokenService } from '../gateway/app-token.service';
import { SimDataErrorFilter } from './sim-data-error.filter';

const ENDPOINT_NAMES = new Set<string>([...Object.keys(PortalPaths).filter((k) => k !== 'jwks'), '*']);

/** The simulator's admin API (see SimCounters & co. in @app/sim-contracts). */
@Controller('__sim')
@UseFilters(SimDataErrorFilter)
export class AdminController {
  constructor(
    private readonly recorder: CallRecorder,
    private readonly control: SimControl,
    private readonly store: SimStore,
    private readonly appTokens: AppTokenService,
  ) {}

  @Get('counters')
  counters(): SimCounters {
    return this.recorder.snapshot();
  }

  @Post('counters/reset')
  @HttpCode(204)
  resetCounters(): void {
    this.recorder.reset();
  }

  @Post('reset')
  @HttpCode(204)
  reset(): void {
    this.recorder.reset();
    this.control.reset();
    this.store.reset();
  }

  @Put('faults/:endpoint')
  @HttpCode(204)
  setFault(@Param('endpoint') endpoint: string, @Body() fault: SimFault | undefined): void {
    if (!ENDPOINT_NAMES.has(endpoint)) throw new HttpException({ message: `unknown endpoint ${endpoint}` }, 400);
    const at = fault?.latencyAt;
    if (at !== undefined && at !== 'request' && at !== 'answer') throw new HttpException({ message: 'latencyAt must be request or answer' }, 400);
    const cut = fault?.cutAfterBytes;
    if (cut !== undefined && !(Number.isInteger(cut) && cut >= 0)) throw new HttpException({ message: 'cutAfterBytes must be an integer >= 0' }, 400);
    this.control.setFault(endpoint as PortalEndpointName | '*', fault ?? {});
  }

  @Delete('faults')
  @HttpCode(204)
  clearFaults(): void {
    this.control.clearFaults();
  }

  @Put('quirks')
  @HttpCode(200)
  quirks(@Body() q: Partial<SimQuirks> | undefined): SimQuirks {
    return this.control.setQuirks(q ?? {});
  }

  @Put('app-permission')
  @HttpCode(204)
  appPermission(@Body() body: { granted?: unknown } | undefined): void {
    if (typeof body?.granted !== 'boolean') throw new HttpException({ message: 'granted must be a boolean' }, 400);
    this.control.appPermission = body.granted;
  }

  @Get('orgs')
  orgs(): SimOrgSummary[] {
    return this.store.orgSummaries();
  }

  @Get('orgs/:orgId')
  org(@Param('orgId') orgId: string): SimOrgDetail {
    return this.store.orgDetail(orgId);
  }

  @Post('orgs')
  @HttpCode(200)
  createOrg(@Body() body: SimCreateOrg): SimOrgSummary {
    return this.store.createOrg(body);
  }

  @Post('orgs/:orgId/users')
  @HttpCode(204)
  createUser(@Param('orgId') orgId: string, @Body() body: SimCreateUser): void {
    this.store.createUser(orgId, body);
  }

  @Delete('orgs/:orgId/users/:userId')
  @HttpCode(204)
  deleteUser(@Param('orgId') orgId: string, @Param('userId') userId: string): void {
    this.store.deleteUser(orgId, userId);
  }

  @Post('orgs/:orgId/users/:userId/grant')
  @HttpCode(204)
  grant(@Param('orgId') orgId: string, @Param('userId') userId: string, @Body() body: { assetIds: string[] }): void {
    this.store.grant(orgId, userId, body?.assetIds, true);
  }

  @Post('orgs/:orgId/users/:userId/revoke')
  @HttpCode(204)
  revoke(@Param('orgId') orgId: string, @Param('userId') userId: string, @Body() body: { assetIds: string[] }): void {
    this.store.grant(orgId, userId, body?.assetIds, false);
  }

  @Put('orgs/:orgId/users/:userId/page-drift')
  @HttpCode(204)
  setPageDrift(@Param('orgId') orgId: string, @Param('userId') userId: string, @Body() body: Partial<SimPageDrift> | undefined): void {
    if (body?.mode !== 'total' && body?.mode !== 'shift') throw new HttpException({ message: 'mode must be total or shift' }, 400);
    this.store.requireUser(orgId, userId);
    this.control.setPageDrift(orgId, userId, body.mode);
  }

  @Delete('orgs/:orgId/users/:userId/page-drift')
  @HttpCode(204)
  clearPageDrift(@Param('orgId') orgId: string, @Param('userId') userId: string): void {
    this.control.setPageDrift(orgId, userId, undefined);
  }

  @Post('token-ttl')
  @HttpCode(204)
  tokenTtl(@Body() body: { appTokenTtlS?: unknown; userTokenTtlS?: unknown } | undefined): void {
    const valid = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
    if (body?.appTokenTtlS !== undefined) {
      if (!valid(body.appTokenTtlS)) throw new HttpException({ message: 'appTokenTtlS must be > 0' }, 400);
      this.control.appTokenTtlS = body.appTokenTtlS;
    }
    if (body?.userTokenTtlS !== undefined) {
      if (!valid(body.userTokenTtlS)) throw new HttpException({ message: 'userTokenTtlS must be > 0' }, 400);
      this.control.userTokenTtlS = body.userTokenTtlS;
    }
  }

  @Post('tokens/expire')
  @HttpCode(204)
  expireTokens(): void {
    this.appTokens.expireAll();
  }
}
