import { Controller, Delete, HttpCode, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiNoContentResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { ApiProblems } from '../common/api-docs';
import { ConsistencyTokens } from '../common/consistency';
import { CacheAdminService } from './cache-admin.service';

/** Cache invalidation (scope cache:write); effective on every instance sharing the cache. */
@ApiTags('cache')
@ApiSecurity('apiKey')
@Controller('v1/orgs/:orgId')
export class CacheAdminController {
  constructor(
    private readonly admin: CacheAdminService,
    private readonly tokens: ConsistencyTokens,
  ) {}

  @Delete('users/:userId/cache')
  @HttpCode(204)
  @Access({ scope: 'cache:write' })
  @ApiOperation({ summary: 'The next read of this user goes upstream' })
  @ApiParam({ name: 'orgId' })
  @ApiParam({ name: 'userId' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 429, 503)
  async user(@Param() p: { orgId: string; userId: string }, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.admin.invalidateUser(p.orgId, p.userId);
    // Taken once the invalidation is recorded: data loaded from then on is at least as fresh.
    this.tokens.send(reply, Date.now());
  }

  @Delete('cache')
  @HttpCode(204)
  @Access({ scope: 'cache:write' })
  @ApiOperation({ summary: 'The next read of every user of the OU goes upstream (O(1): a generation number, not a key scan)' })
  @ApiParam({ name: 'orgId' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 429, 503)
  async org(@Param() p: { orgId: string }, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.admin.invalidateOrg(p.orgId);
    this.tokens.send(reply, Date.now());
  }
}
