//! A serial line standing in for a board's UART: a serial device (a USB adapter, a board's
//! port, one end of a pseudo-terminal pair), or a TCP connection to `minichat serve --tcp`,
//! which frames its bytes exactly as a serial line's.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The serial device's speed, in baud (`minichat serve --serial`'s default).
const BAUD: u32 = 115_200;

/// Either kind of line.
trait Line: Read + Write {}

impl<T: Read + Write> Line for T {}

/// A line read a byte at a time, as a UART's receive register is, and never waited for.
pub(crate) struct Uart {
    line: BufReader<Box<dyn Line>>,
}

impl Uart {
    /// Opens `line`: a TCP connection if it is an address (`127.0.0.1:8080`), the serial
    /// device at that path otherwise.
    pub(crate) fn open(line: &str) -> io::Result<Uart> {
        let line: Box<dyn Line> = match line.parse::<SocketAddr>() {
            Ok(addr) => {
                let stream = TcpStream::connect(addr)?;
                stream.set_nonblocking(true)?;
                Box::new(stream)
            }
            // Raw, 8N1, and a read with nothing waiting returns at once (timed out).
            Err(_) => Box::new(serialport::new(line, BAUD).timeout(Duration::ZERO).open()?),
        };
        Ok(Uart { line: BufReader::new(line) })
    }
}

/// What the line said when it failed: the operating system's error.
#[derive(Debug)]
pub(crate) struct LineError(io::Error);

impl embedded_hal_nb::serial::Error for LineError {
    fn kind(&self) -> embedded_hal_nb::serial::ErrorKind {
        embedded_hal_nb::serial::ErrorKind::Other
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the serial line failed: {}", self.0)
    }
}

impl std::error::Error for LineError {}

impl embedded_hal_nb::serial::ErrorType for Uart {
    type Error = LineError;
}

/// A byte at a time, as a UART's receive register gives them: `WouldBlock` while nothing
/// is waiting.
impl embedded_hal_nb::serial::Read<u8> for Uart {
    fn read(&mut self) -> nb::Result<u8, LineError> {
        let byte = match self.line.fill_buf() {
            Ok(waiting) => *waiting.first().ok_or(other(io::Error::other("the line closed")))?,
            Err(error) => return Err(other(error)),
        };
        self.line.consume(1);
        Ok(byte)
    }
}

/// A byte at a time, as a UART's transmit register takes them: `WouldBlock` while the
/// line has no room.
impl embedded_hal_nb::serial::Write<u8> for Uart {
    fn write(&mut self, byte: u8) -> nb::Result<(), LineError> {
        match self.line.get_mut().write(&[byte]) {
            Ok(0) => Err(nb::Error::Other(LineError(ErrorKind::WriteZero.into()))),
            Ok(_) => Ok(()),
            Err(error) => Err(other(error)),
        }
    }

    fn flush(&mut self) -> nb::Result<(), LineError> {
        self.line.get_mut().flush().map_err(other)
    }
}

/// `error` as the traits say it: "not now" is `WouldBlock`.
fn other(error: io::Error) -> nb::Error<LineError> {
    if not_now(&error) { nb::Error::WouldBlock } else { nb::Error::Other(LineError(error)) }
}

/// Whether `error` only means "not now": nothing to read, or no room to write, yet.
fn not_now(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}
