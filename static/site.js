// Runs on every page: shows a notice left by the previous page (e.g. after a delete).
import { showPendingFlash } from "./lib.js";

showPendingFlash();
