import { randomBytes } from 'node:crypto';
import type { ZodError } from 'zod';
import { logUnexpected } from '../observability/logger';
import { describeUnsendableText } from '../text-safety';

/**
 * What an error may say to a browser. Input errors are one sentence naming the field; anything unexpected (a
 * Prisma message with SQL, a stack, a path) becomes "Something went wrong (ref …)" and the detail goes to the
 * server log under the same reference, so an admin can find it and a visitor learns nothing.
 */

/** Logs the error under a fresh reference and returns the sentence the client sees. */
export function describeUnexpected(error: unknown, where?: string): string {
  const ref = randomBytes(4).toString('hex');
  logUnexpected({ ref, where, error });
  return `Something went wrong (ref ${ref}).`;
}

const MAX_MESSAGE_LENGTH = 300;

/**
 * A message that may quote the caller's input stays one line of bounded length: control characters are shown
 * escaped (a quoted newline cannot start a second line) and a long echo is cut.
 */
export function clipMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  const oneLine = message.replace(/[\u0000-\u001f\u007f]/g, (ch) => JSON.stringify(ch).slice(1, -1));
  return oneLine.length > MAX_MESSAGE_LENGTH ? `${oneLine.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : oneLine;
}

function fieldLabel(path: readonly PropertyKey[]): string {
  const names = path.filter((part): part is string => typeof part === 'string');
  return names.length > 0 ? `"${names.join('.')}"` : 'The input';
}

/** The first problem of a failed parse, as one sentence: `"filter.from": A date must fall between …`. */
export function describeZodError(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'The input is not valid.';
  const message = clipMessage(issue.message.replace(/\s+/g, ' ').trim());
  const sentence = /[.!?]$/.test(message) ? message : `${message}.`;
  return issue.path.length > 0 ? `${fieldLabel(issue.path)}: ${sentence}` : sentence;
}

/**
 * The first string anywhere in an input that no procedure can accept (a NUL or a lone surrogate), named by its
 * path: one check for every procedure and route, so a new one is covered without remembering to add it.
 */
export function findUnsendableInput(value: unknown, path = 'input', depth = 0): string | null {
  if (depth > 20) return `${path} is nested too deeply.`;
  if (typeof value === 'string') {
    const problem = describeUnsendableText(value);
    return problem === null ? null : `${path === 'input' ? 'The input' : `"${path}"`} ${problem}.`;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnsendableInput(item, `${path}.${index}`, depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = describeUnsendableText(key);
      if (keyProblem !== null) return `A field name ${keyProblem}.`;
      const found = findUnsendableInput(item, path === 'input' ? key : `${path}.${key}`, depth + 1);
      if (found !== null) return found;
    }
  }
  return null;
}
