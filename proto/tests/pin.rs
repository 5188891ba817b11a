//! Compile-time pins on the protocol crate: `bollard-buildkit-proto` is pinned to `=0.9.2`
//! because later releases dropped the gateway module. If an upgrade removes the LLBBridge
//! messages the client sends or the server the fake BuildKit (`testing`) serves, this file
//! stops compiling and says why.

use strata_proto::gateway_pb::{PingRequest, PongResponse, ReturnRequest, SolveRequest};

#[test]
fn the_llb_bridge_messages_exist() {
    for name in [
        std::any::type_name::<PingRequest>(),
        std::any::type_name::<PongResponse>(),
        std::any::type_name::<SolveRequest>(),
        std::any::type_name::<ReturnRequest>(),
    ] {
        assert!(name.contains("frontend::"), "{name}");
    }
}

#[cfg(feature = "testing")]
#[test]
fn the_llb_bridge_server_exists() {
    use strata_proto::gateway_pb::llb_bridge_server::LlbBridgeServer;
    fn server_is_generic<T>() -> &'static str {
        std::any::type_name::<T>()
    }
    assert!(server_is_generic::<LlbBridgeServer<()>>().contains("LlbBridgeServer"));
}
