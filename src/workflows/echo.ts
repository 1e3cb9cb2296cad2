/**
 * A workflow that does nothing but return its input: the peer of `npm run bench -- e2e`, which
 * measures how many of these the same server and worker complete per second.
 */
export async function echoWorkflow(value: string): Promise<string> {
  return value;
}
