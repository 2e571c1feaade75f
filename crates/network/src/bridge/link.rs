//! Links, addresses and routes over rtnetlink, for the built-in bridge
//! driver: the handful of requests `ip link` / `ip addr` / `ip route` would
//! make, each one message and one acknowledgement.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use ipnet::IpNet;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::error::{Error, Result};

/// A route netlink socket in the network namespace of the thread that
/// opened it (it stays there when the thread moves on).
pub(crate) struct Rtnl {
    socket: Socket,
    sequence: u32,
}

/// A link as the kernel reported it.
pub(crate) struct Link {
    pub index: u32,
    pub kind: Option<InfoKind>,
}

impl Rtnl {
    pub fn open() -> Result<Rtnl> {
        let failed = |source| netlink_error("opening a route netlink socket", source);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(failed)?;
        socket.bind_auto().map_err(failed)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(failed)?;
        Ok(Rtnl {
            socket,
            sequence: 0,
        })
    }

    /// The link named `name`, if there is one.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        let replies = match self.request(RouteNetlinkMessage::GetLink(message), 0) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(None),
            other => other.map_err(|e| netlink_error(&format!("looking up link {name}"), e))?,
        };
        Ok(replies.into_iter().find_map(|reply| match reply {
            RouteNetlinkMessage::NewLink(link) => Some(Link {
                index: link.header.index,
                kind: link_kind(&link),
            }),
            _ => None,
        }))
    }

    /// Creates bridge `name`, up; its index.
    pub fn add_bridge(&mut self, name: &str) -> Result<u32> {
        let mut message = up(LinkMessage::default());
        message.attributes.push(LinkAttribute::IfName(name.into()));
        message
            .attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.create(RouteNetlinkMessage::NewLink(message))
            .map_err(|e| netlink_error(&format!("creating bridge {name}"), e))?;
        self.link(name)?.map(|l| l.index).ok_or_else(|| {
            netlink_error(
                &format!("bridge {name} vanished right after its creation"),
                std::io::ErrorKind::NotFound.into(),
            )
        })
    }

    /// Gives link `index` the address `net`; one it already has is fine.
    pub fn add_address(&mut self, index: u32, net: IpNet) -> Result<()> {
        let mut message = AddressMessage::default();
        message.header.family = family(net.addr());
        message.header.prefix_len = net.prefix_len();
        message.header.index = index;
        message.attributes.push(AddressAttribute::Local(net.addr()));
        message
            .attributes
            .push(AddressAttribute::Address(net.addr()));
        if let IpNet::V4(v4) = net {
            message
                .attributes
                .push(AddressAttribute::Broadcast(v4.broadcast()));
        }
        match self.create(RouteNetlinkMessage::NewAddress(message)) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            other => other.map_err(|e| netlink_error(&format!("adding address {net}"), e)),
        }
    }

    /// Creates a veth pair: the host end (named by the kernel, `vethN`) up
    /// on bridge `bridge`, the other end `peer`, down, with MAC `mac` in the
    /// network namespace `peer_netns`.
    pub fn add_veth(
        &mut self,
        bridge: u32,
        peer: &str,
        mac: [u8; 6],
        peer_netns: BorrowedFd<'_>,
    ) -> Result<()> {
        // Down: the kernel refuses (ENOTCONN) to bring up an end it is
        // moving to another namespace; it comes up there, configured.
        let mut inside = LinkMessage::default();
        inside.attributes.push(LinkAttribute::IfName(peer.into()));
        inside.attributes.push(LinkAttribute::Address(mac.to_vec()));
        inside
            .attributes
            .push(LinkAttribute::NetNsFd(peer_netns.as_raw_fd()));
        let mut host = up(LinkMessage::default());
        host.attributes.push(LinkAttribute::Controller(bridge));
        host.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(inside))),
        ]));
        self.create(RouteNetlinkMessage::NewLink(host))
            .map_err(|e| netlink_error(&format!("creating the veth pair for {peer}"), e))
    }

    /// Brings link `index` up.
    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let mut message = up(LinkMessage::default());
        message.header.index = index;
        self.request(RouteNetlinkMessage::SetLink(message), 0)
            .map(|_| ())
            .map_err(|e| netlink_error(&format!("bringing link {index} up"), e))
    }

    /// Adds the default route through `gateway`, as netavark does (static,
    /// metric 100).
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<()> {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = RouteProtocol::Static;
        message.header.scope = RouteScope::Universe;
        message.header.kind = RouteType::Unicast;
        message
            .attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        message.attributes.push(RouteAttribute::Priority(100));
        self.create(RouteNetlinkMessage::NewRoute(message))
            .map_err(|e| netlink_error(&format!("adding the default route via {gateway}"), e))
    }

    /// Deletes link `name`; false if there was none.
    pub fn delete_link(&mut self, name: &str) -> Result<bool> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        match self.request(RouteNetlinkMessage::DelLink(message), 0) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(netlink_error(&format!("deleting link {name}"), e)),
        }
    }

    fn create(&mut self, message: RouteNetlinkMessage) -> std::io::Result<()> {
        self.request(message, NLM_F_CREATE | NLM_F_EXCL).map(|_| ())
    }

    /// Sends one request and reads until its acknowledgement: the replies
    /// before it, or the kernel's error.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> std::io::Result<Vec<RouteNetlinkMessage>> {
        self.sequence += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut buffer = vec![0; packet.buffer_len()];
        packet.serialize(&mut buffer);
        self.socket.send(&buffer, 0)?;
        let mut replies = Vec::new();
        loop {
            let (received, _) = self.socket.recv_from_full()?;
            let mut rest = &received[..];
            while !rest.is_empty() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                let length = (reply.header.length as usize).next_multiple_of(4);
                rest = rest.get(length..).unwrap_or_default();
                if reply.header.sequence_number != self.sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                    NetlinkPayload::Error(_) | NetlinkPayload::Done(_) => return Ok(replies),
                    _ => {}
                }
            }
        }
    }
}

/// Runs `work` with the calling code moved into the network namespace at
/// `netns`: on a thread of its own, since a namespace switch is per thread
/// and the caller's thread must stay where it is.
pub(crate) fn in_netns<T: Send>(
    netns: &Path,
    work: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    let file = std::fs::File::open(netns).map_err(|e| Error::Io {
        action: "opening network namespace",
        path: netns.to_path_buf(),
        source: e,
    })?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .map_err(|e| Error::Io {
                    action: "entering network namespace",
                    path: netns.to_path_buf(),
                    source: e.into(),
                })?;
                work()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A random locally administered unicast MAC address, as the kernel would
/// pick; chosen here so that setup knows it without asking.
pub(crate) fn random_mac() -> [u8; 6] {
    let mut mac: [u8; 6] = rand::random();
    mac[0] = (mac[0] & 0xfe) | 0x02;
    mac
}

/// `aa:bb:cc:dd:ee:ff` to bytes.
pub(crate) fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

pub(crate) fn format_mac(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

fn up(mut message: LinkMessage) -> LinkMessage {
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    message
}

fn link_kind(link: &LinkMessage) -> Option<InfoKind> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(kind) => Some(kind.clone()),
            _ => None,
        }),
        _ => None,
    })
}

fn family(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn netlink_error(operation: &str, source: std::io::Error) -> Error {
    Error::Netlink {
        operation: operation.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_round_trip_and_random_ones_are_local_unicast() {
        let mac = random_mac();
        assert_eq!(mac[0] & 0x03, 0x02);
        assert_eq!(parse_mac(&format_mac(mac)), Some(mac));
        assert_eq!(parse_mac("02:00:0a:ff:00:01"), Some([2, 0, 10, 255, 0, 1]));
        assert_eq!(parse_mac("02:00:0a:ff:00"), None);
        assert_eq!(parse_mac("02:00:0a:ff:00:01:02"), None);
        assert_eq!(parse_mac("zz:00:0a:ff:00:01"), None);
    }
}
