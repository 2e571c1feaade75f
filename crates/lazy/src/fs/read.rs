//! Assembling a byte range of a file from its chunks.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use super::ChunkReader;
use crate::toc::ChunkRef;

/// The bytes answering one read: usually a slice of a single chunk (sent
/// without copying), otherwise pieces of several chunks joined.
#[derive(Debug)]
pub(crate) enum ReadData {
    Slice(Arc<Vec<u8>>, Range<usize>),
    Joined(Vec<u8>),
}

impl ReadData {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            ReadData::Slice(chunk, range) => &chunk[range.clone()],
            ReadData::Joined(bytes) => bytes,
        }
    }
}

/// Reads up to `len` bytes at `offset` of file `name`, whose `chunks` cover
/// `0..size` contiguously in order. Reads past the end are cut short.
pub(crate) fn read_range(
    reader: &dyn ChunkReader,
    name: &str,
    chunks: &[ChunkRef],
    size: u64,
    offset: u64,
    len: u32,
) -> io::Result<ReadData> {
    let end = offset.saturating_add(u64::from(len)).min(size);
    if offset >= end {
        return Ok(ReadData::Joined(Vec::new()));
    }
    let first = chunks.partition_point(|c| c.file_offset + c.len <= offset);
    let mut pieces = Vec::new();
    for chunk in chunks[first..].iter().take_while(|c| c.file_offset < end) {
        let data = reader.read_chunk(name, chunk)?;
        if data.len() as u64 != chunk.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "chunk at offset {} should hold {} bytes but the reader returned {}",
                    chunk.file_offset,
                    chunk.len,
                    data.len()
                ),
            ));
        }
        // Both bounds lie within the chunk, which fits in memory: usize casts hold.
        let from = (offset.max(chunk.file_offset) - chunk.file_offset) as usize;
        let to = (end.min(chunk.file_offset + chunk.len) - chunk.file_offset) as usize;
        pieces.push((data, from..to));
    }
    if pieces.len() == 1 {
        let (data, range) = pieces.pop().expect("one piece");
        return Ok(ReadData::Slice(data, range));
    }
    let mut joined = Vec::with_capacity((end - offset) as usize);
    for (data, range) in &pieces {
        joined.extend_from_slice(&data[range.clone()]);
    }
    Ok(ReadData::Joined(joined))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Serves a file's chunks by slicing its content; counts the calls.
    struct Slicer {
        content: Vec<u8>,
        calls: Mutex<Vec<u64>>,
    }

    impl ChunkReader for Slicer {
        fn read_chunk(&self, _file: &str, chunk: &ChunkRef) -> io::Result<Arc<Vec<u8>>> {
            self.calls.lock().unwrap().push(chunk.file_offset);
            let start = chunk.file_offset as usize;
            Ok(Arc::new(
                self.content[start..start + chunk.len as usize].to_vec(),
            ))
        }
    }

    fn chunks_of(size: u64, step: u64) -> Vec<ChunkRef> {
        (0..size)
            .step_by(step as usize)
            .map(|off| ChunkRef {
                file_offset: off,
                len: step.min(size - off),
                blob_range: 0..1,
                inner_offset: 0,
                digest: None,
            })
            .collect()
    }

    #[test]
    fn every_range_matches_the_content() {
        let content: Vec<u8> = (0..100u8).collect();
        let reader = Slicer {
            content: content.clone(),
            calls: Mutex::new(Vec::new()),
        };
        let chunks = chunks_of(100, 7);
        for offset in 0..105u64 {
            for len in [0u32, 1, 6, 7, 8, 20, 200] {
                let got = read_range(&reader, "f", &chunks, 100, offset, len).unwrap();
                let from = (offset as usize).min(100);
                let to = (offset as usize + len as usize).min(100);
                assert_eq!(got.bytes(), &content[from..to], "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn fetches_only_the_chunks_needed() {
        let reader = Slicer {
            content: vec![7; 30],
            calls: Mutex::new(Vec::new()),
        };
        let chunks = chunks_of(30, 10);
        let got = read_range(&reader, "f", &chunks, 30, 12, 10).unwrap();
        assert_eq!(got.bytes().len(), 10);
        assert_eq!(*reader.calls.lock().unwrap(), [10, 20]);
        assert!(matches!(
            read_range(&reader, "f", &chunks, 30, 11, 5).unwrap(),
            ReadData::Slice(..)
        ));
    }

    #[test]
    fn a_short_chunk_is_an_error() {
        struct Short;
        impl ChunkReader for Short {
            fn read_chunk(&self, _: &str, _: &ChunkRef) -> io::Result<Arc<Vec<u8>>> {
                Ok(Arc::new(vec![0; 3]))
            }
        }
        let err = read_range(&Short, "f", &chunks_of(10, 10), 10, 0, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
