// What the Node drivers of supabase-js share (supabase-auth.js,
// supabase-mail.js): the client options and the one-JSON-line-per-step
// report the Python tests read.
'use strict';

// Realtime is not used, but supabase-js's realtime client refuses to load
// on a Node without a WebSocket (before 22): hand it one that is never made.
class NoWebSocket {
  constructor() { throw new Error('realtime is not used by these tests'); }
}

const options = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: NoWebSocket },
};

function step(name, detail) {
  process.stdout.write(JSON.stringify({ step: name, ...detail }) + '\n');
}

module.exports = { options, step };
