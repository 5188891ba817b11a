//! Compile-time pins on the protocol crate: `bollard-buildkit-proto` is pinned to `=0.9.2`
//! because later releases dropped the gateway module. If an upgrade removes the LLBBridge
//! client or server, this file stops compiling and says why.

use strata_proto::gateway_pb::llb_bridge_client::LlbBridgeClient;
use strata_proto::gateway_pb::llb_bridge_server::LlbBridgeServer;

#[test]
fn the_llb_bridge_client_and_server_exist() {
    let client = std::any::type_name::<LlbBridgeClient<tonic::transport::Channel>>();
    assert!(client.contains("LlbBridgeClient"));
    fn server_is_generic<T>() -> &'static str {
        std::any::type_name::<T>()
    }
    assert!(server_is_generic::<LlbBridgeServer<()>>().contains("LlbBridgeServer"));
}
