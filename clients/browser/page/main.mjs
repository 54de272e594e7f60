// The bundle's entry: the unmodified Firebase JS SDK, exposed whole so the tests can drive it
// with page.evaluate (the same calls an app makes, run in the page).
import * as app from 'firebase/app';
import * as auth from 'firebase/auth';

window.firebase = { app, auth };
