/** The Electron IPC channels between the preload and the main process (the renderer never sees ipcRenderer). */
import { z } from 'zod';

export const IPC_CALL = 'sae:studio:call';
export const IPC_EVENT = 'sae:studio:event';
export const IPC_PICK_FOLDER = 'sae:dialog:pick-folder';
export const IPC_PICK_FILE = 'sae:dialog:pick-file';

const DialogTitleSchema = z.string().min(1).max(200);

/** The arguments of IPC_PICK_FOLDER after the event: the dialog's title. */
export const PickFolderArgsSchema = z.tuple([DialogTitleSchema]);

/** One filter of a file dialog: a label and plain extensions (no dots, no wildcards but `*`). */
export const FileFilterSchema = z.strictObject({
  name: z.string().min(1).max(100),
  extensions: z
    .array(z.string().regex(/^(\*|[A-Za-z0-9]{1,16})$/, 'an extension: letters and digits, or *'))
    .min(1)
    .max(20),
});

/** The arguments of IPC_PICK_FILE after the event: the dialog's title and its filters. */
export const PickFileArgsSchema = z.tuple([DialogTitleSchema, z.array(FileFilterSchema).max(10)]);

/** The arguments of IPC_CALL after the event: a method name and its request (checked by the dispatcher). */
export const CallArgsSchema = z.tuple([z.string().min(1).max(100), z.unknown()]);
