import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Access, AccessRule } from '../auth/access.decorator';
import { AppException } from '../common/app.exception';
import { ApiCached, ApiLang, ApiConditional, ApiConsistent, ApiPaged, ApiProblems, READ_ERRORS } from '../common/api-docs';
import { ErrorCode } from '../common/error-code';
import { cacheHeaders, callerOf, jsonBytes, prefsOf, sendJsonBytes, userCallerOf, wantsBypass } from '../common/http';
import { IfNoneMatch, parseIfNoneMatch, PreparedAnswer, readHeaders, sendRead } from '../common/read-answer';
import { parseAll } from '../common/validation';
import { LangPrefs } from '../common/i18n';
import { CONSISTENCY_HEADER, ConsistencyTokens } from '../common/consistency';
import { AssetsService } from './assets.service';
import { BatchAssetsService } from './batch-assets.service';
import { AssetDto, BatchUserAssetsDto, UserAssetsDto } from './dto/asset.dto';
import { UserAssetsRequestDto } from './dto/user-assets-request.dto';
import { parseUserAssetsBody } from './user-assets.request';
import { PageQuery, parsePageQuery } from './page-query';
import { qValues } from '../common/q-values';

/** Who may read one user's assets: a key with assets:read for the OU, or the user itself. */
const USER_ASSETS_RULE: AccessRule = { scope: 'assets:read', users: 'self' };
const NDJSON = 'application/x-ndjson';
/**
 * True when the caller prefers the batch as NDJSON lines: Accept names application/x-ndjson with a q-value above 0 and
 * no lower than JSON's (application/json, else application/* or * / *; RFC 9110 section 12.5.1).
 */
function wantsNdjson(req: FastifyRequest): boolean {
  const q = qValues(req.headers.accept ?? '');
  const ndjson = q.get(NDJSON) ?? 0;
  const json = q.get('application/json') ?? q.get('application/*') ?? q.get('*/*') ?? 0;
  return ndjson > 0 && ndjson >= json;
}

/** Who may read /v1/me/assets: user callers only. */
const MY_ASSETS_RULE: AccessRule = { users: 'self' };

/** Asset reads: one user's assets (all asset/list pages merged), one asset, and batches of users. */
@ApiTags('assets')
@ApiSecurity('apiKey')
@ApiSecurity('bearer')
@Controller('v1')
export class AssetsController {
  constructor(
    private readonly assets: AssetsService,
    private readonly batch: BatchAssetsService,
    private readonly tokens: ConsistencyTokens,
  ) {}

  /** What the list reads take from a request, every field validated before any is refused (parseAll). */
  private readInput(req: FastifyRequest): [IfNoneMatch, PageQuery, LangPrefs, number | undefined] {
    try {
      // The hot read's path: no closures, and nothing to collect when all is well.
      return [parseIfNoneMatch(req), parsePageQuery(req.query as Record<string, unknown>), prefsOf(req), this.tokens.notBefore(req)];
    } catch {
      // Something is bad: parse each part again, so that the 400 names every bad field (parseAll throws).
    }
    return parseAll(
      () => parseIfNoneMatch(req),
      () => parsePageQuery(req.query as Record<string, unknown>),
      () => prefsOf(req),
      () => this.tokens.notBefore(req),
    );
  }

  @Get('orgs/:orgId/users/:userId/assets')
  @Access(USER_ASSETS_RULE)
  @ApiOperation({ summary: 'Every asset the user can access in the OU (all asset/list pages merged, upstream order)' })
  @ApiParam({ name: 'orgId' })
  @ApiParam({ name: 'userId' })
  @ApiLang()
  @ApiPaged()
  @ApiCached()
  @ApiConditional()
  @ApiConsistent()
  @ApiOkResponse({ type: UserAssetsDto, description: 'Headers X-Cache (HIT|MISS|STALE) and Age' })
  @ApiProblems(...READ_ERRORS, 409)
  async list(@Param() p: { orgId: string; userId: string }, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const [cond, page, prefs, notBefore] = this.readInput(req);
    const r = await this.assets.listBody(p.orgId, p.userId, prefs, wantsBypass(req), page, notBefore);
    cacheHeaders(reply, r.status, r.ageS);
    this.tokens.send(reply, r.loadedAt);
    await sendRead(req, reply, r.answer, cond);
  }

  @Get('me/assets')
  @Access(MY_ASSETS_RULE)
  @ApiOperation({ summary: 'The same for the calling user (user callers only)' })
  @ApiLang()
  @ApiPaged()
  @ApiCached()
  @ApiConditional()
  @ApiConsistent()
  @ApiOkResponse({ type: UserAssetsDto })
  @ApiProblems(...READ_ERRORS, 409)
  async mine(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const me = userCallerOf(req);
    const [cond, page, prefs, notBefore] = this.readInput(req);
    const r = await this.assets.listBody(me.orgId as string, me.userId, prefs, wantsBypass(req), page, notBefore);
    cacheHeaders(reply, r.status, r.ageS);
    this.tokens.send(reply, r.loadedAt);
    await sendRead(req, reply, r.answer, cond);
  }

  @Get('orgs/:orgId/users/:userId/assets/:assetId')
  @Access(USER_ASSETS_RULE)
  @ApiOperation({ summary: 'The asset when the user can access it; 404 ASSET_NOT_ACCESSIBLE when not' })
  @ApiParam({ name: 'orgId' })
  @ApiParam({ name: 'userId' })
  @ApiParam({ name: 'assetId' })
  @ApiLang()
  @ApiCached()
  @ApiConditional()
  @ApiConsistent()
  @ApiOkResponse({ type: AssetDto })
  @ApiProblems(...READ_ERRORS)
  async one(@Param() p: { orgId: string; userId: string; assetId: string }, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const [cond, prefs, notBefore] = parseAll(
      () => parseIfNoneMatch(req),
      () => prefsOf(req),
      () => this.tokens.notBefore(req),
    );
    const r = await this.assets.one(p.orgId, p.userId, p.assetId, prefs, wantsBypass(req), notBefore);
    cacheHeaders(reply, r.status, r.ageS);
    this.tokens.send(reply, r.loadedAt);
    await sendRead(req, reply, new PreparedAnswer(jsonBytes(r.asset)), cond);
  }

  @Post('orgs/:orgId/user-assets')
  @HttpCode(200)
  @Access({ scope: 'assets:read', users: 'org' })
  @ApiOperation({ summary: 'Many users at once (users/assetList in chunks): each user once in request order, each asset once' })
  @ApiParam({ name: 'orgId' })
  @ApiLang()
  @ApiBody({ type: UserAssetsRequestDto })
  @ApiCached()
  @ApiConsistent()
  @ApiHeader({ name: 'Accept', required: false, description: '`application/x-ndjson` streams the answer as lines (asset, user, then end or error)' })
  @ApiProduces('application/json', NDJSON)
  @ApiOkResponse({
    type: BatchUserAssetsDto,
    description:
      'As NDJSON (Accept: application/x-ndjson): one {"asset": …} line per asset before the first user line listing it, one {"user": {userId, assetIds}} line per user in request order, then {"end": {users, assets, cache}}; a failure after the first line ends with {"error": <problem>} and no end line. Its X-Consistency-Token header, which leaves before the users are read, names the time the stream began: safe to send back, but it reloads what was cached before; a trailer of the same name, after the last line, is the exact one, the token the JSON answer of the same batch carries',
  })
  @ApiProblems(...READ_ERRORS, 413)
  async usersAssets(@Param() p: { orgId: string }, @Body() body: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const [prefs, { userIds, resourceTypes }, notBefore] = parseAll(
      () => prefsOf(req),
      () => parseUserAssetsBody(body),
      () => this.tokens.notBefore(req),
    );
    const caller = callerOf(req);
    if (caller.kind === 'user' && userIds.some((u) => u !== caller.userId)) throw new AppException(ErrorCode.Forbidden, 'A user may read only itself');
    if (wantsNdjson(req)) {
      // The headers leave before the users are read, so the header names the stream's start (data loaded since is at
      // least as fresh as any line), and a trailer of the same name the exact newest load, once the lines are out.
      const startedAt = Date.now();
      const opts = { bypass: wantsBypass(req), notBefore, requestId: String(req.id) };
      const { lines, newestLoad } = await this.batch.streamUsersAssets(p.orgId, userIds, resourceTypes, prefs, opts);
      this.tokens.send(reply, startedAt);
      reply.trailer(CONSISTENCY_HEADER, async () => this.tokens.issue(newestLoad()));
      readHeaders(reply, 'Accept');
      await reply.type(NDJSON).send(lines);
      return;
    }
    const r = await this.batch.usersAssets(p.orgId, userIds, resourceTypes, prefs, wantsBypass(req), notBefore);
    cacheHeaders(reply, r.status, r.ageS);
    this.tokens.send(reply, r.loadedAt);
    readHeaders(reply, 'Accept');
    sendJsonBytes(reply, r.body);
  }
}
