/** Protocol version: bump on any incompatible change to a message shape. */
export const PROTOCOL_VERSION = 1;
/** Version of the hvdbg programs (daemon and client share it). */
export const SERVER_VERSION = '0.1.0';
