// The playground's one inline script: the API client, the form and the run, in one strict scope
// (each part uses the names the parts before it declare). Plain browser JavaScript in strings, so
// the page needs no build step; the route allows exactly this text by its hash.
import { API_CLIENT_SCRIPT } from './api-client-script.ts';
import { FORM_SCRIPT } from './form-script.ts';
import { RUN_SCRIPT } from './run-script.ts';

export const PLAYGROUND_SCRIPT = `(() => {
'use strict';
${API_CLIENT_SCRIPT}
${FORM_SCRIPT}
${RUN_SCRIPT}
})();
`;
