// `promtool check metrics` for the edge tests, which run inside workerd and cannot start a
// process: plugged into Miniflare's outbound service, a POST of exposition text to
// http://promtool.test/check-metrics runs Debian's promtool (package `prometheus`) on it in Node
// and answers {status, output}. A missing promtool fails the test with the install line.
import { type Request, Response } from 'miniflare';
import { promtool } from '../../../test/support/promtool.ts';

export function withPromtool(next: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (url.hostname !== 'promtool.test') return next(request);
    const text = await request.text();
    let run: { status: number | null; output: string };
    try {
      run = promtool(['check', 'metrics'], text);
    } catch (error) {
      run = { status: null, output: (error as Error).message };
    }
    return new Response(JSON.stringify(run), { headers: { 'Content-Type': 'application/json' } });
  };
}
