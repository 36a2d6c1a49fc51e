/*
 * os/windows.h - what the Windows files of lib/os/ share: the table from
 * Win32 error codes to ERR_* (errno's is err_code_errno in snapshot.h).
 */
#ifndef MODMAP_OS_WINDOWS_H
#define MODMAP_OS_WINDOWS_H

/* ERROR_ACCESS_DENIED, ERROR_PRIVILEGE_NOT_HELD: ERR_PERMISSION; no such
 * process (ERROR_INVALID_PARAMETER from OpenProcess and Toolhelp32):
 * ERR_NO_PROCESS; out of memory: ERR_NO_MEMORY; ERROR_FILE_TOO_LARGE:
 * ERR_TOO_LARGE; ERROR_NOT_SUPPORTED, ERROR_CALL_NOT_IMPLEMENTED:
 * ERR_UNSUPPORTED; the rest ERR_OTHER. */
int err_code_win32(unsigned long code);

#endif
