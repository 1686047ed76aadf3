import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { ActsInTenant } from '../../core/identity/tenant-selection.js';
import {
  BulkCreateUsersDto,
  BulkCreateUsersResultDto,
  CreateUserDto,
  DeleteUserQuery,
  ListUsersQuery,
  UpdateUserDto,
  UserDto,
  UserPageDto,
  UserPermissionsDto,
} from './dto/user.dto.js';
import { UsersService } from './users.service.js';

const id = new ParseUUIDPipe({ version: '4' });

@ApiTags('users')
@ActsInTenant()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @Authenticated({ permission: Permission.USERS_READ })
  @ApiOperation({ summary: "List the tenant's users (filter by role, status, search; paginated)" })
  @ApiOkResponse({ type: UserPageDto })
  list(@Query() query: ListUsersQuery): Promise<UserPageDto> {
    return this.users.list(query);
  }

  @Get(':id')
  @Authenticated({ permission: Permission.PROFILE_READ })
  @ApiOperation({ summary: 'A user: with users:read anyone in the tenant, otherwise only oneself' })
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ description: 'No such user in this tenant' })
  get(@Param('id', id) userId: string): Promise<UserDto> {
    return this.users.get(userId);
  }

  @Post()
  @Authenticated({ permission: Permission.USERS_WRITE })
  @ApiOperation({ summary: 'Create a user: active with a password, or invited by e-mail without one' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'The e-mail exists in this tenant' })
  create(@Body() body: CreateUserDto): Promise<UserDto> {
    return this.users.create(body);
  }

  @Post('bulk')
  @HttpCode(200)
  @Authenticated({ permission: Permission.USERS_WRITE })
  @ApiOperation({ summary: 'Invite up to 100 users ({email, role}), optionally with quotas; one result per row' })
  @ApiOkResponse({ type: BulkCreateUsersResultDto })
  bulk(@Body() body: BulkCreateUsersDto): Promise<BulkCreateUsersResultDto> {
    return this.users.bulkInvite(body.users, body.quotas ?? []);
  }

  @Patch(':id')
  @Authenticated({ permission: Permission.PROFILE_WRITE })
  @ApiOperation({
    summary: 'Update a user: with users:write anyone (name, role, status); otherwise only one’s own name',
  })
  @ApiOkResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'Would remove the last active tenant admin' })
  update(@Param('id', id) userId: string, @Body() body: UpdateUserDto): Promise<UserDto> {
    return this.users.update(userId, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated({ permission: Permission.USERS_WRITE })
  @ApiOperation({ summary: 'Delete a user (soft by default; ?hard=true purges)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiConflictResponse({ description: 'Would remove the last active tenant admin' })
  async remove(@Param('id', id) userId: string, @Query() query: DeleteUserQuery): Promise<void> {
    await this.users.remove(userId, query.hard === 'true');
  }

  @Post(':id/verify')
  @HttpCode(200)
  @Authenticated({ permission: Permission.USERS_WRITE })
  @ApiOperation({ summary: "Mark a user's e-mail address as verified" })
  @ApiOkResponse({ type: UserDto })
  verify(@Param('id', id) userId: string): Promise<UserDto> {
    return this.users.markVerified(userId);
  }

  @Get(':id/permissions')
  @Authenticated({ permission: Permission.PROFILE_READ })
  @ApiOperation({ summary: "A user's role and the permissions it grants (with users:read anyone, otherwise oneself)" })
  @ApiOkResponse({ type: UserPermissionsDto })
  permissions(@Param('id', id) userId: string): Promise<UserPermissionsDto> {
    return this.users.permissions(userId);
  }
}
