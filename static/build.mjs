// Builds the front-end bundles into dist/: the page (app.js and app.css,
// from src/main.js) and the <iex-console> widget (embed.js, from
// src/embed.js, and its terminal, embed-term.js from src/embed-term.js,
// whose CSS is inlined as text for the widget's shadow root), the replay
// page (replay.js and replay.css) and the teacher's page (teach.js and
// teach.css, from src/teach.js).
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

// The widget comes in two parts: embed.js, light, defines <iex-console>
// (editor, buttons, API); embed-term.js, the terminal (xterm.js and its
// addons, most of the bytes), is loaded by the first console that starts.
const bundles = [
  { entryPoints: ['src/main.js'], outfile: 'dist/app.js' },
  { entryPoints: ['src/embed.js'], outfile: 'dist/embed.js' },
  { entryPoints: ['src/embed-term.js'], outfile: 'dist/embed-term.js', loader: { '.css': 'text' } },
  // The iframe form (/embed): the console's attributes from the query, its
  // API over postMessage.
  { entryPoints: ['src/frame.js'], outfile: 'dist/frame.js' },
  { entryPoints: ['src/replay.js'], outfile: 'dist/replay.js' },
  // The teacher's page (/teach): teach.js and its stylesheet, teach.css.
  { entryPoints: ['src/teach.js'], outfile: 'dist/teach.js' },
];

if (watch) {
  for (const b of bundles) {
    const ctx = await esbuild.context({ ...common, ...b });
    await ctx.watch();
  }
} else {
  await Promise.all(bundles.map((b) => esbuild.build({ ...common, ...b })));
}
