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

    /// The next byte received, or `None` while nothing is waiting.
    pub(crate) fn read(&mut self) -> io::Result<Option<u8>> {
        let byte = match self.line.fill_buf() {
            Ok(waiting) => *waiting.first().ok_or(io::Error::other("the line closed"))?,
            Err(error) if not_now(&error) => return Ok(None),
            Err(error) => return Err(error),
        };
        self.line.consume(1);
        Ok(Some(byte))
    }

    /// Sends all of `bytes`.
    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.line.get_mut().write(bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(sent) => bytes = bytes.get(sent..).unwrap_or_default(),
                Err(error) if not_now(&error) => std::thread::sleep(Duration::from_millis(1)),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// Whether `error` only means "not now": nothing to read, or no room to write, yet.
fn not_now(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}
