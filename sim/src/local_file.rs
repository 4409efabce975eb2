//! Reading a file of the local machine that a user named (a seed, a seed's `from_file`, a
//! manifest of `agentrelease validate`): only a regular file, and at most a cap. A FIFO, a device
//! or a socket could block forever or never end (`/dev/zero`), so they are refused before they
//! are opened; the file is opened once and read through that one handle, so a file swapped or
//! grown after the check is still judged by what is actually read.

use std::fs::{File, FileType, Metadata};
use std::io::Read;
use std::path::Path;

/// Why a local file was not read.
#[derive(Debug, thiserror::Error)]
pub enum LocalFileError {
    /// The path names something other than a regular file (after following symlinks).
    #[error("not a regular file ({kind})")]
    NotRegular {
        /// What it is: `a directory`, `a FIFO`, `a character device`...
        kind: &'static str,
    },
    /// The file holds more than the cap.
    #[error("larger than {}", describe_bytes(*cap))]
    TooLarge {
        /// The cap, in bytes.
        cap: u64,
    },
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Reads the regular file at `path` (symlinks followed), refusing anything larger than `cap`
/// bytes. Never reads more than `cap + 1` bytes, and never opens a FIFO or a device: the type is
/// checked first, the open does not wait (`O_NONBLOCK` on unix), and the opened handle is checked
/// again before reading.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, LocalFileError> {
    regular(std::fs::metadata(path)?)?;
    let file = open_nonblocking(path)?;
    let meta = regular(file.metadata()?)?;
    let limit = cap.saturating_add(1);
    // The length is a hint only: the file may grow or shrink while it is read.
    let hint = usize::try_from(meta.len().min(limit)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint);
    file.take(limit).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(LocalFileError::TooLarge { cap });
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text (a file that is not is an [`std::io::ErrorKind::InvalidData`] error,
/// as with [`std::fs::read_to_string`]).
pub fn read_to_string(path: &Path, cap: u64) -> Result<String, LocalFileError> {
    let bytes = read(path, cap)?;
    String::from_utf8(bytes).map_err(|_| {
        LocalFileError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })
}

/// A byte count as the docs state caps: `4 MiB`, `256 KiB`, or bytes.
pub fn describe_bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn regular(meta: Metadata) -> Result<Metadata, LocalFileError> {
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(LocalFileError::NotRegular {
            kind: kind_of(meta.file_type()),
        })
    }
}

#[cfg(unix)]
fn kind_of(t: FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn kind_of(t: FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "local-file-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_a_regular_file_up_to_the_cap() {
        let dir = temp_dir("regular");
        let path = dir.join("f.txt");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read(&path, 5).unwrap(), b"12345");
        let err = read(&path, 4).unwrap_err();
        assert!(matches!(err, LocalFileError::TooLarge { cap: 4 }), "{err}");
        assert_eq!(err.to_string(), "larger than 4 bytes");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_a_directory() {
        let dir = temp_dir("dir");
        let err = read(&dir, 10).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file (a directory)");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_device_behind_a_symlink_without_reading_it() {
        let dir = temp_dir("dev");
        let link = dir.join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read(&link, 1024).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file (a character device)");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_at_once_instead_of_waiting_for_a_writer() {
        let dir = temp_dir("fifo");
        let fifo = dir.join("pipe.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        let err = read(&fifo, 1024).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file (a FIFO)");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn caps_are_described_as_the_docs_state_them() {
        assert_eq!(describe_bytes(4 * 1024 * 1024), "4 MiB");
        assert_eq!(describe_bytes(256 * 1024), "256 KiB");
        assert_eq!(describe_bytes(1000), "1000 bytes");
    }

    #[test]
    fn text_that_is_not_utf8_is_an_invalid_data_error() {
        let dir = temp_dir("utf8");
        let path = dir.join("f.txt");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let err = read_to_string(&path, 10).unwrap_err();
        assert!(
            matches!(&err, LocalFileError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
