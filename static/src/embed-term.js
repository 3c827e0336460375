// The widget's terminal, loaded by the first <iex-console> that starts
// (embed.js adds it as a script): xterm.js, its addons and its stylesheet,
// which are most of the widget's bytes and not needed before a Run.

import xtermCSS from '@xterm/xterm/css/xterm.css';
import { createTerminal } from './terminal.js';

window.iexboxTerminal = { css: xtermCSS, createTerminal };
