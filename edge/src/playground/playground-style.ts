// The playground's stylesheet, inlined into the page (and allowed by its hash in the page's
// Content-Security-Policy). Colours are chosen for contrast: body text 16:1, hints 8:1, errors and
// buttons at least 6:1 on white (WCAG 2.2 AA asks 4.5:1); every focusable element shows a 3 px
// outline when reached by keyboard.
export const PLAYGROUND_STYLE = `
:root{color-scheme:light;--fg:#1b1b1f;--muted:#45464f;--accent:#0b57d0;--line:#74777f;--error:#b3261e;--soft:#f0f2f7}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#fff;max-width:56rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
label,legend{display:block;font-weight:600;margin-bottom:.2rem}
input,select,textarea,button{font:inherit;color:inherit}
input,select,textarea{width:100%;padding:.4rem .5rem;border:1px solid var(--line);border-radius:4px;background:#fff}
textarea{resize:vertical}
[aria-invalid=true]{border:2px solid var(--error)}
:focus-visible{outline:3px solid var(--fg);outline-offset:2px}
.key{display:flex;gap:.5rem;align-items:end;flex-wrap:wrap;padding:.75rem;background:var(--soft);border-radius:6px}
.key>div{flex:1 1 16rem}
.field{margin-bottom:.75rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:0 1rem}
fieldset{margin:0 0 .75rem;padding:.25rem .75rem .5rem;border:1px solid var(--line);border-radius:4px}
.hint{margin:.2rem 0 0;font-size:.875rem;color:var(--muted)}
button{padding:.45rem 1.1rem;border:2px solid var(--accent);border-radius:4px;background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}
button:disabled,button[aria-disabled=true]{border-color:var(--line);background:var(--soft);color:var(--muted);cursor:not-allowed}
.actions{display:flex;gap:.75rem;margin:1rem 0}
#status{min-height:1.5rem;margin:.5rem 0;font-weight:600}
#error{margin:.5rem 0;padding:.5rem .75rem;border-left:4px solid var(--error);color:var(--error);background:#fdf3f2}
progress{width:100%;height:1rem;accent-color:var(--accent)}
.picture{display:block;width:100%;max-width:24rem;height:auto;background:var(--soft)}
.choice input{width:auto;margin:0 .3rem 0 0}
.choice label{display:inline;font-weight:400;margin-right:1.25rem}
.stack{position:relative;width:100%;max-width:24rem;margin-bottom:.75rem}
.stack img{display:block;width:100%;height:auto;background:var(--soft)}
.stack canvas{position:absolute;inset:0;width:100%;height:100%;opacity:.5;cursor:crosshair;touch-action:none}
.share{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}
.share input{flex:1 1 20rem}
a{color:var(--accent)}
[hidden]{display:none!important}
`;
