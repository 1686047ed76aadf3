/* eslint-disable */
export default async () => {
  const t = {
    ['./core/auth/permissions.js']: await import('./core/auth/permissions.js'),
    ['./core/identity/one-time-token.entity.js']: await import('./core/identity/one-time-token.entity.js'),
    ['./core/identity/tenant.entity.js']: await import('./core/identity/tenant.entity.js'),
    ['./core/identity/user.entity.js']: await import('./core/identity/user.entity.js'),
    ['./core/errors/problem-details.dto.js']: await import('./core/errors/problem-details.dto.js'),
    ['./modules/auth/dto/auth.dto.js']: await import('./modules/auth/dto/auth.dto.js'),
    ['./core/identity/tenant.dto.js']: await import('./core/identity/tenant.dto.js'),
    ['./modules/tenants/dto/tenant.dto.js']: await import('./modules/tenants/dto/tenant.dto.js'),
    ['./modules/users/dto/user.dto.js']: await import('./modules/users/dto/user.dto.js'),
    ['./modules/api-keys/dto/api-key.dto.js']: await import('./modules/api-keys/dto/api-key.dto.js'),
  };
  return {
    '@nestjs/swagger': {
      models: [
        [
          import('./core/identity/api-key.entity.js'),
          {
            ApiKey: {
              tenantId: { required: true, type: () => String },
              id: { required: true, type: () => String },
              userId: { required: true, type: () => String, nullable: true },
              kind: { required: true, enum: ['personal', 'tenant'] },
              name: { required: true, type: () => String },
              prefix: { required: true, type: () => String },
              keyHash: { required: true, type: () => String },
              scopes: { required: true, enum: t['./core/auth/permissions.js'].Permission, isArray: true },
              expiresAt: { required: true, type: () => Date, nullable: true },
              lastUsedAt: { required: true, type: () => Date, nullable: true },
              revokedAt: { required: true, type: () => Date, nullable: true },
              createdAt: {
                required: true,
                type: () => Date,
                description:
                  'When the row was written (not when its transaction began): the newest tenant key is the live one.',
              },
            },
          },
        ],
        [
          import('./core/identity/one-time-token.entity.js'),
          {
            OneTimeToken: {
              tenantId: { required: true, type: () => String },
              id: { required: true, type: () => String },
              userId: { required: true, type: () => String },
              purpose: { required: true, enum: t['./core/identity/one-time-token.entity.js'].TokenPurpose },
              tokenHash: { required: true, type: () => String },
              expiresAt: { required: true, type: () => Date },
              usedAt: { required: true, type: () => Date, nullable: true },
              createdAt: { required: true, type: () => Date },
            },
          },
        ],
        [
          import('./core/identity/tenant.entity.js'),
          {
            Tenant: {
              id: { required: true, type: () => String },
              name: { required: true, type: () => String },
              slug: { required: true, type: () => String },
              status: { required: true, enum: t['./core/identity/tenant.entity.js'].TenantStatus },
              statusReason: { required: true, type: () => String, nullable: true },
              settings: { required: true, type: 'object', additionalProperties: true },
              createdAt: { required: true, type: () => Date },
              updatedAt: { required: true, type: () => Date },
              deletedAt: { required: true, type: () => Date, nullable: true },
            },
          },
        ],
        [
          import('./core/identity/user.entity.js'),
          {
            User: {
              tenantId: { required: true, type: () => String },
              id: { required: true, type: () => String },
              email: { required: true, type: () => String },
              name: { required: true, type: () => String },
              passwordHash: { required: true, type: () => String, nullable: true },
              role: { required: true, type: () => Object },
              status: { required: true, enum: t['./core/identity/user.entity.js'].UserStatus },
              emailVerifiedAt: { required: true, type: () => Date, nullable: true },
              tokenVersion: { required: true, type: () => Number },
              failedLogins: { required: true, type: () => Number },
              lockedUntil: { required: true, type: () => Date, nullable: true },
              createdAt: { required: true, type: () => Date },
              updatedAt: { required: true, type: () => Date },
              deletedAt: { required: true, type: () => Date, nullable: true },
            },
          },
        ],
        [
          import('./core/errors/problem-details.dto.js'),
          {
            FieldErrorDto: {
              field: { required: true, type: () => String },
              messages: { required: true, type: () => [String] },
            },
            ProblemDetailsDto: {
              type: { required: true, type: () => String },
              title: { required: true, type: () => String },
              status: { required: true, type: () => Number },
              detail: { required: true, type: () => String },
              code: { required: true, type: () => String },
              requestId: { required: true, type: () => String },
              instance: { required: true, type: () => String },
              errors: { required: false, type: () => [t['./core/errors/problem-details.dto.js'].FieldErrorDto] },
            },
          },
        ],
        [
          import('./core/identity/platform-admin.entity.js'),
          {
            PlatformAdmin: {
              id: { required: true, type: () => String },
              email: { required: true, type: () => String },
              name: { required: true, type: () => String },
              passwordHash: { required: true, type: () => String },
              tokenVersion: { required: true, type: () => Number },
              failedLogins: { required: true, type: () => Number },
              lockedUntil: { required: true, type: () => Date, nullable: true },
              createdAt: { required: true, type: () => Date },
              updatedAt: { required: true, type: () => Date },
            },
          },
        ],
        [
          import('./core/identity/auth-session.entity.js'),
          {
            AuthSession: {
              id: { required: true, type: () => String },
              familyId: { required: true, type: () => String },
              subjectKind: { required: true, enum: ['user', 'platform_admin'] },
              subjectId: { required: true, type: () => String },
              tenantId: { required: true, type: () => String, nullable: true },
              tokenHash: { required: true, type: () => String },
              expiresAt: { required: true, type: () => Date },
              usedAt: { required: true, type: () => Date, nullable: true },
              revokedAt: { required: true, type: () => Date, nullable: true },
              createdAt: { required: true, type: () => Date },
            },
          },
        ],
        [
          import('./core/mail/mail-outbox.entity.js'),
          {
            MailOutbox: {
              id: { required: true, type: () => String },
              tenantId: { required: true, type: () => String, nullable: true },
              to: { required: true, type: () => String },
              subject: { required: true, type: () => String },
              body: { required: true, type: () => String },
              transport: { required: true, enum: ['smtp', 'outbox'] },
              sentAt: { required: true, type: () => Date, nullable: true },
              error: { required: true, type: () => String, nullable: true },
              attempts: {
                required: true,
                type: () => Number,
                description: 'Delivery attempts so far (the first is made right after the sending change commits).',
              },
              claimedAt: { required: true, type: () => Date, nullable: true },
              createdAt: { required: true, type: () => Date },
            },
          },
        ],
        [
          import('./modules/api-keys/dto/api-key.dto.js'),
          {
            CreateApiKeyDto: {
              name: { required: true, type: () => String },
              scopes: { required: false, enum: t['./core/auth/permissions.js'].Permission, isArray: true },
              expiresAt: { required: false, type: () => String },
            },
            ListApiKeysQuery: { all: { required: false, enum: ['false', 'true'] } },
            RegenerateTenantKeyDto: { graceSeconds: { required: false, type: () => Number } },
            ApiKeyDto: {
              id: { required: true, type: () => String },
              kind: { required: true, type: () => String },
              name: { required: true, type: () => String },
              prefix: { required: true, type: () => String },
              scopes: { required: true, type: () => [String] },
              userId: { required: true, type: () => String, nullable: true },
              createdAt: { required: true, type: () => String },
              expiresAt: { required: true, type: () => String, nullable: true },
              lastUsedAt: { required: true, type: () => String, nullable: true },
              revokedAt: { required: true, type: () => String, nullable: true },
            },
            CreatedApiKeyDto: { key: { required: true, type: () => String } },
          },
        ],
        [
          import('./core/identity/tenant.dto.js'),
          {
            TenantDto: {
              id: { required: true, type: () => String },
              name: { required: true, type: () => String },
              slug: { required: true, type: () => String },
              status: { required: true, enum: t['./core/identity/tenant.entity.js'].TenantStatus },
              statusReason: { required: true, type: () => String, nullable: true },
              settings: { required: true, type: 'object', additionalProperties: true },
              createdAt: { required: true, type: () => String },
              updatedAt: { required: true, type: () => String },
            },
          },
        ],
        [
          import('./modules/auth/dto/auth.dto.js'),
          {
            RegisterDto: {
              email: { required: true, type: () => String },
              password: { required: true, type: () => String },
              name: { required: true, type: () => String },
              tenantName: { required: false, type: () => String },
              invitationToken: { required: false, type: () => String },
            },
            ForgotPasswordDto: {
              email: { required: true, type: () => String },
              tenant: { required: false, type: () => String },
            },
            OneTimeTokenDto: { token: { required: true, type: () => String } },
            ResetPasswordDto: { password: { required: true, type: () => String } },
            LoginDto: {
              email: { required: true, type: () => String },
              password: { required: true, type: () => String },
              tenant: { required: false, type: () => String },
            },
            RefreshDto: { refreshToken: { required: true, type: () => String } },
            ChangePasswordDto: {
              currentPassword: { required: true, type: () => String },
              newPassword: { required: true, type: () => String },
            },
            TokensDto: {
              accessToken: { required: true, type: () => String },
              refreshToken: { required: true, type: () => String },
              tokenType: { required: true, enum: ['Bearer'] },
              expiresIn: { required: true, type: () => Number },
            },
            PrincipalUserDto: {
              id: { required: true, type: () => String },
              email: { required: true, type: () => String },
              name: { required: true, type: () => String },
              role: { required: true, type: () => String },
            },
            SignedInDto: { user: { required: true, type: () => t['./modules/auth/dto/auth.dto.js'].PrincipalUserDto } },
            MeApiKeyDto: { id: { required: true, type: () => String }, prefix: { required: true, type: () => String } },
            MeDto: {
              kind: { required: true, type: () => String },
              user: {
                required: true,
                type: () => t['./modules/auth/dto/auth.dto.js'].PrincipalUserDto,
                nullable: true,
              },
              apiKey: { required: true, type: () => t['./modules/auth/dto/auth.dto.js'].MeApiKeyDto, nullable: true },
              tenant: { required: true, type: () => t['./core/identity/tenant.dto.js'].TenantDto, nullable: true },
              role: { required: true, type: () => String },
              permissions: { required: true, type: () => [String] },
            },
          },
        ],
        [
          import('./modules/tenants/dto/tenant.dto.js'),
          {
            TenantPageDto: {
              items: { required: true, type: () => [t['./core/identity/tenant.dto.js'].TenantDto] },
              total: { required: true, type: () => Number },
              limit: { required: true, type: () => Number },
              offset: { required: true, type: () => Number },
            },
            FirstAdminDto: {
              email: { required: true, type: () => String },
              name: { required: true, type: () => String },
              password: { required: false, type: () => String },
            },
            CreateTenantDto: {
              name: { required: true, type: () => String },
              slug: { required: false, type: () => String },
              admin: { required: true, type: () => t['./modules/tenants/dto/tenant.dto.js'].FirstAdminDto },
            },
            UpdateTenantDto: {
              name: { required: false, type: () => String },
              slug: { required: false, type: () => String },
              settings: { required: false, type: 'object', additionalProperties: true },
            },
            SuspendTenantDto: { reason: { required: true, type: () => String } },
            ListTenantsQuery: {
              status: { required: false, enum: t['./core/identity/tenant.entity.js'].TenantStatus },
              search: { required: false, type: () => String },
            },
            DeleteTenantQuery: { hard: { required: false, enum: ['false', 'true'] } },
            CreatedTenantDto: {
              tenant: { required: true, type: () => t['./core/identity/tenant.dto.js'].TenantDto },
              adminId: { required: true, type: () => String },
              apiKey: { required: true, type: () => String },
            },
            RoleStatusCountDto: {
              role: { required: true, type: () => String },
              status: { required: true, type: () => String },
              count: { required: true, type: () => Number },
            },
            TenantStatisticsDto: {
              tenantId: { required: true, type: () => String },
              totalUsers: { required: true, type: () => Number },
              users: { required: true, type: () => [t['./modules/tenants/dto/tenant.dto.js'].RoleStatusCountDto] },
            },
          },
        ],
        [
          import('./modules/users/dto/user.dto.js'),
          {
            UserDto: {
              id: { required: true, type: () => String },
              tenantId: { required: true, type: () => String },
              email: { required: true, type: () => String },
              name: { required: true, type: () => String },
              role: { required: true, type: () => Object },
              status: { required: true, enum: t['./core/identity/user.entity.js'].UserStatus },
              emailVerified: { required: true, type: () => Boolean },
              createdAt: { required: true, type: () => String },
              updatedAt: { required: true, type: () => String },
            },
            UserPageDto: {
              items: { required: true, type: () => [t['./modules/users/dto/user.dto.js'].UserDto] },
              total: { required: true, type: () => Number },
              limit: { required: true, type: () => Number },
              offset: { required: true, type: () => Number },
            },
            CreateUserDto: {
              password: { required: false, type: () => String },
              email: { required: true, type: () => String },
              name: { required: true, type: () => String },
              role: { required: true, type: () => Object },
            },
            BulkUserDto: {
              email: { required: true, type: () => String },
              role: { required: true, type: () => Object },
              name: { required: false, type: () => String },
            },
            BulkCreateUsersDto: {
              users: { required: true, type: () => [t['./modules/users/dto/user.dto.js'].BulkUserDto] },
            },
            BulkRowErrorDto: {
              code: { required: true, type: () => String },
              detail: { required: true, type: () => String },
            },
            BulkRowResultDto: {
              email: { required: true, type: () => String },
              result: { required: true, enum: ['invited', 'failed'] },
              user: { required: false, type: () => t['./modules/users/dto/user.dto.js'].UserDto },
              error: { required: false, type: () => t['./modules/users/dto/user.dto.js'].BulkRowErrorDto },
            },
            BulkCreateUsersResultDto: {
              results: { required: true, type: () => [t['./modules/users/dto/user.dto.js'].BulkRowResultDto] },
            },
            UpdateUserDto: {
              name: { required: false, type: () => String },
              role: { required: false, type: () => Object },
              status: { required: false, enum: t['./core/identity/user.entity.js'].UserStatus },
            },
            ListUsersQuery: {
              role: { required: false, type: () => Object },
              status: { required: false, enum: t['./core/identity/user.entity.js'].UserStatus },
              search: { required: false, type: () => String },
            },
            DeleteUserQuery: { hard: { required: false, enum: ['false', 'true'] } },
            UserPermissionsDto: {
              role: { required: true, type: () => Object },
              permissions: { required: true, type: () => [String] },
            },
          },
        ],
      ],
      controllers: [
        [
          import('./modules/api-keys/api-keys.controller.js'),
          {
            ApiKeysController: {
              create: { type: t['./modules/api-keys/dto/api-key.dto.js'].CreatedApiKeyDto },
              list: { type: [t['./modules/api-keys/dto/api-key.dto.js'].ApiKeyDto] },
              get: { type: t['./modules/api-keys/dto/api-key.dto.js'].ApiKeyDto },
              revoke: {},
            },
            TenantKeyController: { regenerate: { type: t['./modules/api-keys/dto/api-key.dto.js'].CreatedApiKeyDto } },
          },
        ],
        [
          import('./modules/auth/auth.controller.js'),
          {
            AuthController: {
              register: { type: t['./modules/auth/dto/auth.dto.js'].SignedInDto },
              login: { type: t['./modules/auth/dto/auth.dto.js'].SignedInDto },
              refresh: { type: t['./modules/auth/dto/auth.dto.js'].TokensDto },
              logout: {},
              logoutAll: {},
              forgotPassword: {},
              resetPassword: {},
              verifyEmail: {},
              resendVerification: {},
              whoami: { type: String },
              changePassword: { type: t['./modules/auth/dto/auth.dto.js'].TokensDto },
            },
          },
        ],
        [import('./modules/health/health.controller.js'), { HealthController: { live: {}, ready: { type: Object } } }],
        [import('./modules/metrics/metrics.controller.js'), { MetricsController: { render: { type: String } } }],
        [
          import('./modules/tenants/tenants.controller.js'),
          {
            TenantsController: {
              create: { type: t['./modules/tenants/dto/tenant.dto.js'].CreatedTenantDto },
              list: { type: t['./modules/tenants/dto/tenant.dto.js'].TenantPageDto },
              current: { type: t['./core/identity/tenant.dto.js'].TenantDto },
              get: { type: t['./core/identity/tenant.dto.js'].TenantDto },
              update: { type: t['./core/identity/tenant.dto.js'].TenantDto },
              remove: {},
              suspend: { type: t['./core/identity/tenant.dto.js'].TenantDto },
              reactivate: { type: t['./core/identity/tenant.dto.js'].TenantDto },
              statistics: { type: t['./modules/tenants/dto/tenant.dto.js'].TenantStatisticsDto },
            },
          },
        ],
        [
          import('./modules/users/users.controller.js'),
          {
            UsersController: {
              list: { type: t['./modules/users/dto/user.dto.js'].UserPageDto },
              get: { type: t['./modules/users/dto/user.dto.js'].UserDto },
              create: { type: t['./modules/users/dto/user.dto.js'].UserDto },
              bulk: { type: t['./modules/users/dto/user.dto.js'].BulkCreateUsersResultDto },
              update: { type: t['./modules/users/dto/user.dto.js'].UserDto },
              remove: {},
              verify: { type: t['./modules/users/dto/user.dto.js'].UserDto },
              permissions: { type: t['./modules/users/dto/user.dto.js'].UserPermissionsDto },
            },
          },
        ],
      ],
    },
  };
};
