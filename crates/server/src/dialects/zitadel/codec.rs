//! The protobuf codec of the gRPC and gRPC-web services: prost's, except that a request
//! that does not decode is the caller's fault. tonic's own codec answers it with `Internal`
//! and prost's error text; this one answers `InvalidArgument` with the same ZITADEL error
//! (`Errors.Request.Invalid`) as Connect and REST do for an undecodable body. `build.rs`
//! names this codec for every generated service.

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder};

use super::error::BAD_BODY;
use super::grpc::status;

#[derive(Debug, Clone)]
pub struct ZitadelCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for ZitadelCodec<T, U> {
    fn default() -> Self {
        ZitadelCodec(ProstCodec::default())
    }
}

impl<T, U> Codec for ZitadelCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(self.0.decoder())
    }
}

#[derive(Debug)]
pub struct RequestDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|e| {
            tracing::debug!(error = %e.message(), "undecodable gRPC message");
            status(BAD_BODY)
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
