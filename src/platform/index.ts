/**
 * The platform module: users and sign-in, personal keys, per-user base
 * permissions, usage analytics and GDPR, for a team sharing one server.
 * This file stays light (the CLI reads it at start): the accounts, routes
 * and Argon2 load in `create` and the command's `run`.
 */
import { defineModule } from '../app/module.js';
import { platformMigrations } from './migrations.js';
import { platformSection } from './options.js';

export { platformSection } from './options.js';

export default defineModule({
  name: 'platform',
  summary:
    'Teams: users and sign-in (/api/auth), personal keys, base permissions, usage analytics, GDPR, and the users command',
  options: platformSection.options,
  migrations: platformMigrations,
  commands: {
    users: {
      usage:
        "users create --email E [--admin] [--first-name F] [--last-name L] | list | disable|enable ID|EMAIL | set-bases ID|EMAIL '*'|app1,app2 | reset-password ID|EMAIL",
      summary: 'Manage accounts (passwords are read from stdin or prompted, never taken as flags)',
      needsAirtable: false,
      async run(ctx) {
        const { runUsersCommand } = await import('./cli.js');
        return runUsersCommand(ctx);
      },
    },
  },
  async create(ctx) {
    const { createPlatformModule } = await import('./service.js');
    return createPlatformModule(ctx);
  },
});
