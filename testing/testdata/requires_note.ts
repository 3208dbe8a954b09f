/** Calls `requires()` twice without the permissions: the note must appear once. */
import { requires } from "../permissions.ts";

console.log(JSON.stringify([requires("run", "read"), requires("run", "read")]));
