/**
 * npm run user -- add <name> --role viewer|operator|admin     asks for the password (twice on a terminal)
 * npm run user -- reset <name>                                 sets a new password the same way, ends sessions
 * npm run user -- role <name> <role> | disable <name> | enable <name> | list
 * npm run user -- status                                      how to make the first admin, if there is none
 *
 * How the first admin is made (Ferry has no default password), and how a locked-out admin gets back in. On a
 * terminal the password is typed without echo; from a pipe the first line of stdin is the password, so
 * scripts can do `printf '%s\n' "$pw" | npm run user -- add alice --role admin`. Each change writes an audit row
 * with the actor `cli:<os user>`. Exit code 0: done; 1: refused; 2: usage.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createPrismaClient } from '../server/db';
import { hashPassword, passwordProblem } from '../server/auth/password';
import { isRole, ROLES } from '../server/auth/roles';
import { addUser, changeRole, setDisabled, userNameSchema } from '../server/auth/users';
import { recordAudit } from '../server/audit/record';
import { UserError } from '../server/errors';

const USAGE = `usage: npm run user -- add <name> --role ${ROLES.join('|')}
       npm run user -- reset <name> | role <name> <role> | disable <name> | enable <name> | list | status`;

const FIRST_ADMIN_HINT = `No user exists yet, and Ferry has no default password. Create the first admin (it asks for the password):
  npm run user -- add <name> --role admin
then sign in at /sign-in.`;

class UsageError extends Error {}

/** Reads one line from a terminal without echoing it. */
function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stdout.write(question);
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    let typed = '';
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          input.setRawMode(false);
          input.pause();
          input.off('data', onData);
          process.stdout.write('\n');
          resolve(typed);
          return;
        }
        if (char === '\u0003') {
          input.setRawMode(false);
          reject(new UsageError('cancelled'));
          return;
        }
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

async function readFirstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

async function readNewPassword(name: string): Promise<string> {
  if (!process.stdin.isTTY) return readFirstLine();
  for (;;) {
    const first = await askHidden(`Password for ${name}: `);
    const problem = passwordProblem(first);
    if (problem) {
      console.error(problem);
      continue;
    }
    if ((await askHidden('Again: ')) === first) return first;
    console.error('The two passwords differ; once more.');
  }
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string' } },
  });
  const [command, rawName, rawRole] = positionals;
  const db = createPrismaClient();
  const audit = { actor: `cli:${os.userInfo().username}`, clientAddress: null };
  try {
    if (command === 'status') {
      const admins = await db.user.count({ where: { role: 'admin', disabled: false } });
      console.log(admins === 0 ? FIRST_ADMIN_HINT : `${admins} enabled admin${admins === 1 ? '' : 's'}.`);
      return 0;
    }
    if (command === 'list') {
      const users = await db.user.findMany({ orderBy: { name: 'asc' } });
      if (users.length === 0) console.log(FIRST_ADMIN_HINT);
      for (const user of users) console.log(`${user.name}\t${user.role}${user.disabled ? '\tdisabled' : ''}`);
      return 0;
    }
    if (!rawName) throw new UsageError(USAGE);
    const name = userNameSchema.parse(rawName);
    switch (command) {
      case 'add': {
        const role = values.role ?? 'viewer';
        if (!isRole(role)) throw new UsageError(`--role is one of ${ROLES.join(', ')}`);
        const password = await readNewPassword(name);
        await addUser({ db, name, role, password, audit });
        console.log(`Added ${name} (${role}). Sign in at Ferry's /sign-in page.`);
        return 0;
      }
      case 'reset': {
        const user = await db.user.findUnique({ where: { name } });
        if (!user) throw new UserError({ message: `There is no user "${name}".` });
        const password = await readNewPassword(name);
        const problem = passwordProblem(password);
        if (problem) throw new UserError({ message: problem });
        const passwordHash = await hashPassword(password);
        await db.$transaction(async (tx) => {
          await tx.user.update({ where: { id: user.id }, data: { passwordHash, passwordChangedAt: new Date() } });
          const revoked = (await tx.session.deleteMany({ where: { userId: user.id } })).count;
          await recordAudit(tx, {
            ...audit,
            action: 'user.reset-password',
            details: { user: name, sessionsRevoked: revoked },
          });
        });
        console.log(`New password set for ${name}; their sessions have ended.`);
        return 0;
      }
      case 'role':
      case 'disable':
      case 'enable': {
        const user = await db.user.findUnique({ where: { name } });
        if (!user) throw new UserError({ message: `There is no user "${name}".` });
        if (command === 'role') {
          if (!isRole(rawRole)) throw new UsageError(`the role is one of ${ROLES.join(', ')}`);
          await changeRole({ db, userId: user.id, role: rawRole, audit });
        } else {
          await setDisabled({ db, userId: user.id, disabled: command === 'disable', audit });
        }
        console.log(`${name}: done.`);
        return 0;
      }
      default:
        throw new UsageError(USAGE);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof UserError) {
      console.error(error.message);
      return 1;
    }
    if (error instanceof Error && error.name === 'ZodError') {
      console.error((error as { issues?: { message: string }[] }).issues?.map((issue) => issue.message).join('\n'));
      return 1;
    }
    throw error;
  } finally {
    await db.$disconnect();
  }
}

process.exitCode = await main(process.argv.slice(2));
