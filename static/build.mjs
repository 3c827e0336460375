// Builds the front-end bundles into dist/: the page (app.js and app.css,
// from src/main.js) and the <iex-console> widget (embed.js, from
// src/embed.js, whose CSS is inlined as text for its shadow root).
//
//   node build.mjs           minified, once (npm run build, make web)
//   node build.mjs --watch   unminified, rebuilt on every change (npm run watch)
//
// static.Built and the Makefile's web rule name the same outputs.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  minify: !watch,
  target: 'es2020',
  format: 'iife',
  logLevel: 'info',
};

const bundles = [
  { entryPoints: ['src/main.js'], outfile: 'dist/app.js' },
  { entryPoints: ['src/embed.js'], outfile: 'dist/embed.js', loader: { '.css': 'text' } },
  { entryPoints: ['src/replay.js'], outfile: 'dist/replay.js' },
];

if (watch) {
  for (const b of bundles) {
    const ctx = await esbuild.context({ ...common, ...b });
    await ctx.watch();
  }
} else {
  await Promise.all(bundles.map((b) => esbuild.build({ ...common, ...b })));
}
