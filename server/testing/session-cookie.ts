import type { Db } from '../db';

/** The password test users are given before signing in with signInCookie. */
export const TEST_USER_PASSWORD = 'correct horse battery';

/**
 * Signs `name` in the way the sign-in route does and returns the Cookie header a browser would send. Imports the
 * sign-in code when called: route tests point DATABASE_URL at their file before anything reads the environment.
 */
export async function signInCookie(db: Db, name: string): Promise<string> {
  const { signIn } = await import('../auth/sign-in');
  const outcome = await signIn({ db, name, password: TEST_USER_PASSWORD, clientAddress: null, userAgent: 'x' });
  if (!outcome.ok) throw new Error(outcome.message);
  return `ferry-session=${outcome.token}`;
}
