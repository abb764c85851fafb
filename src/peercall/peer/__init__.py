"""Join peercall calls from Python: bots, tests and the recorder.

``peer = await Peer.join(base_url, token)`` joins a room through the signaling protocol
(docs/protocol.md) and keeps one aiortc RTCPeerConnection per other member.
"""

from .media import (
    ReceiveStats,
    RelayedTrack,
    SyntheticAudioTrack,
    SyntheticVideoTrack,
    TrackRelay,
    count_frames,
    open_media_file,
    read_frame_counter,
)
from .peer import ConnectionState, EndReason, MediaSource, Peer, PeerClosed, PeerEvent, RemotePeer
from .signaling_client import (
    Frame,
    JoinRejected,
    PeerError,
    PeerInfo,
    SignalingClient,
    SignalingError,
    signaling_url,
)

__all__ = [
    "ConnectionState",
    "EndReason",
    "Frame",
    "JoinRejected",
    "MediaSource",
    "Peer",
    "PeerClosed",
    "PeerError",
    "PeerEvent",
    "PeerInfo",
    "ReceiveStats",
    "RelayedTrack",
    "RemotePeer",
    "SignalingClient",
    "SignalingError",
    "SyntheticAudioTrack",
    "SyntheticVideoTrack",
    "TrackRelay",
    "count_frames",
    "open_media_file",
    "read_frame_counter",
    "signaling_url",
]
