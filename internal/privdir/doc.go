// Package privdir keeps a directory of card data private to the process's
// user: the host's data directory (Pebble store, admin token) and the
// backups written from it.
//
// Secure makes the directory with mode 0700 when it is missing. When it
// exists, it must belong to the user the process runs as (its owner could
// open it to others again at any time), and Secure then takes group and
// other permissions off the directory and everything under it: directories
// end up 0700, the store's files 0600. A store made by an older version
// (Pebble writes 0644 files and 0755 directories under the usual umask) is
// fixed on its next start, and the caller logs what was changed. Secure
// refuses, with a message that says what to do, when it cannot: another
// owner, a path that is not a directory, a chmod that fails.
//
// Permissions are only ever taken away (mode &^ 0077): an owner bit is
// never added, so a file kept read-only stays read-only. Symbolic links
// inside the directory are not followed.
//
// The binary also sets its umask to 0077 at start (cmd/cardcenter), so
// that every file made after Secure is private as it is created.
package privdir
