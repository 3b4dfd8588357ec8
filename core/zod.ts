import { z } from 'zod';

// Validation messages people read are Japanese; explicit messages on a schema still win.
z.config(z.locales.ja());

export { z };
