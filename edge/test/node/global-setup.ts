// Before the edge tests: compile the configured models' tokenizers into edge/generated/, as
// `wrangler dev` and `wrangler deploy` do through wrangler.toml's [build] command. Rewrites only
// files whose bytes change, so a clean checkout stays clean.
import { compileModelTokenizers } from '../../../infra/tokenizer/compile.ts';

export default async function setup(): Promise<void> {
  await compileModelTokenizers({ log: () => {} });
}
