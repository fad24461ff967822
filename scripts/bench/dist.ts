/**
 * Imports a module of the bot as `npm start` runs it: compiled by tsc into dist/ (run `npm run build`
 * first), so the benchmarks measure no on-the-fly TypeScript transform. Type it from the src/ module:
 * `const { createApp } = await fromDist<typeof import("../../src/app.js")>("app.js")`.
 */
export async function fromDist<Module>(file: string): Promise<Module> {
  return (await import(new URL(`../../dist/${file}`, import.meta.url).href)) as Module;
}
