/** What the app says about itself (name and version): the first contract shared by main, preload and renderer. */
import { z } from 'zod';

export const AppInfoSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
});

export type AppInfo = z.infer<typeof AppInfoSchema>;
