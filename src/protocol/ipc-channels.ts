/** The Electron IPC channels between the preload and the main process (the renderer never sees ipcRenderer). */
export const IPC_CALL = 'sae:studio:call';
export const IPC_EVENT = 'sae:studio:event';
export const IPC_PICK_FOLDER = 'sae:dialog:pick-folder';
export const IPC_PICK_FILE = 'sae:dialog:pick-file';
