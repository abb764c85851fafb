"""Join peercall calls from Python: bots, tests and the recorder.

``peer = await Peer.join(base_url, token)`` joins a room through the signaling protocol
(docs/protocol.md) and keeps one aiortc RTCPeerConnection per other member. It survives
signaling drops (resume, or rejoin after a server restart; ``reconnect=`` policy) and
replaces failed connections (``media_recovery=`` policy); see :class:`PeerEvent`.
"""

from .chat import Chat, ChatMessage
from .data_channels import DATA_CHANNELS, DataHub
from .files import FileTransfers, Transfer, TransferFailed
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
from .reconnect import NO_RECONNECT, BackoffPolicy, ReconnectPolicy, SignalingState
from .recovery import MediaRecoveryPolicy
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
    "DATA_CHANNELS",
    "NO_RECONNECT",
    "BackoffPolicy",
    "Chat",
    "ChatMessage",
    "ConnectionState",
    "DataHub",
    "EndReason",
    "FileTransfers",
    "Frame",
    "JoinRejected",
    "MediaRecoveryPolicy",
    "MediaSource",
    "Peer",
    "PeerClosed",
    "PeerError",
    "PeerEvent",
    "PeerInfo",
    "ReceiveStats",
    "ReconnectPolicy",
    "RelayedTrack",
    "RemotePeer",
    "SignalingClient",
    "SignalingError",
    "SignalingState",
    "SyntheticAudioTrack",
    "SyntheticVideoTrack",
    "TrackRelay",
    "Transfer",
    "TransferFailed",
    "count_frames",
    "open_media_file",
    "read_frame_counter",
    "signaling_url",
]
