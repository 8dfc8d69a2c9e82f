// The playground's one inline script: the API client, the form, the run, the mask canvas and the
// editing mode, in one strict scope (each part uses the names the parts before it declare, and the
// run, when Generate is pressed, the edit's addEditFields). Plain browser JavaScript in strings,
// so the page needs no build step; the route allows exactly this text by its hash.
import { API_CLIENT_SCRIPT } from './api-client-script.ts';
import { EDIT_SCRIPT } from './edit-script.ts';
import { FORM_SCRIPT } from './form-script.ts';
import { MASK_CANVAS_SCRIPT } from './mask-canvas-script.ts';
import { RUN_SCRIPT } from './run-script.ts';

export const PLAYGROUND_SCRIPT = `(() => {
'use strict';
${API_CLIENT_SCRIPT}
${FORM_SCRIPT}
${RUN_SCRIPT}
${MASK_CANVAS_SCRIPT}
${EDIT_SCRIPT}
})();
`;
