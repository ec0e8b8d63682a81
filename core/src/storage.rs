//! Memory the embedding gives a table or a ring: an array, sized when the program is
//! built (firmware, in a static), or a slice it allocated once at start-up (a host, sized
//! by its command line). The state machines never allocate; they only index into it.

/// Contiguous memory of `T`s: `[T; N]`, `Box<[T]>`, `Vec<T>`, `&mut [T]`, … Its length
/// is fixed once given; for an array it is a constant, so code that depends on it (a
/// table with no index memory scans) is decided when the program is built.
pub trait Storage<T>: AsRef<[T]> + AsMut<[T]> {}

impl<T, X: AsRef<[T]> + AsMut<[T]> + ?Sized> Storage<T> for X {}
