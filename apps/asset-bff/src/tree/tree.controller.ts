import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Access } from '../auth/access.decorator';
import { ApiConditional, ApiLang, ApiProblems } from '../common/api-docs';
import { cacheHeaders, jsonBytes, prefsOf, userCallerOf } from '../common/http';
import { parseIfNoneMatch, PreparedAnswer, sendRead } from '../common/read-answer';
import { FlatViewDto, TreeViewDto } from './dto/tree.dto';
import { TreeService } from './tree.service';
import { MAX_TYPES_QUERY, parseTreeQuery } from './tree.query';
import { MAX_RESOURCE_TYPES } from '../assets/dto/user-assets-request.dto';
import { ID_RULE } from '../common/ids';
import { parseAll } from '../common/validation';

/** The caller's app asset tree (user callers only; their token is forwarded to the portal). */
@ApiTags('tree')
@ApiBearerAuth('bearer')
@ApiExtraModels(TreeViewDto, FlatViewDto)
@Controller('v1/apps/:accessKey/asset-tree')
export class TreeController {
  constructor(private readonly trees: TreeService) {}

  @Get()
  @Access({ users: 'any' })
  @ApiOperation({ summary: 'Normalized, localized asset tree; view=tree keeps the OU root, view=flat lists nodes depth-first' })
  @ApiParam({ name: 'accessKey' })
  @ApiQuery({
    name: 'types',
    required: false,
    schema: { type: 'string', maxLength: MAX_TYPES_QUERY, pattern: '^[A-Za-z0-9_.:,-]*$' },
    description: `Comma list of resource types: at most ${MAX_RESOURCE_TYPES}, each ${ID_RULE}`,
  })
  @ApiQuery({ name: 'associated', required: false, type: Boolean, description: 'Include associated resources (default false)' })
  @ApiQuery({ name: 'view', required: false, enum: ['tree', 'flat'] })
  @ApiLang()
  @ApiConditional()
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(TreeViewDto) }, { $ref: getSchemaPath(FlatViewDto) }] } })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  async tree(@Param() p: { accessKey: string }, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const me = userCallerOf(req);
    const [prefs, q, cond] = parseAll(
      () => prefsOf(req),
      () => parseTreeQuery(req.query as Record<string, unknown>),
      () => parseIfNoneMatch(req),
    );
    const tree = await this.trees.tree(me.token, p.accessKey, q, prefs);
    // Never cached (it is read with the caller's token), so always a MISS; API.md puts X-Cache and Age on every 304.
    cacheHeaders(reply, 'MISS', 0);
    await sendRead(req, reply, new PreparedAnswer(jsonBytes(tree)), cond);
  }
}
