//! Command-line arguments of `fleetlog simulate` and the fleet plan derived from them.

use std::time::Duration;

use crate::protocol::Protocol;

/// Default gateway address of the Teltonika listener.
const TELTONIKA_ADDR: &str = "127.0.0.1:5027";
/// Default gateway address of the Omni listener.
const OMNI_ADDR: &str = "127.0.0.1:5028";
/// Default gateway address of the GT06 listener.
const GT06_ADDR: &str = "127.0.0.1:5023";
/// Largest device id a GT06 login can carry (16 BCD digits).
const GT06_MAX_ID: u64 = 9_999_999_999_999_999;

/// Which protocol the simulated fleet speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProtocolChoice {
    /// Teltonika TST100 (Codec 8E data, Codec 12 commands).
    #[default]
    Teltonika,
    /// Omni `*SCOR` text protocol.
    Omni,
    /// Concox GT06 binary protocol.
    Gt06,
    /// Round-robin over all three protocols.
    Mixed,
}

impl ProtocolChoice {
    /// The protocol of scooter number `index` (round-robin for [`ProtocolChoice::Mixed`]).
    pub fn protocol_of(self, index: u64) -> Protocol {
        match self {
            Self::Teltonika => Protocol::Teltonika,
            Self::Omni => Protocol::Omni,
            Self::Gt06 => Protocol::Gt06,
            Self::Mixed => Protocol::ALL[(index % 3) as usize],
        }
    }
}

/// `fleetlog simulate`: a fleet of simulated scooters connected to a gateway.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct SimulateArgs {
    /// Device protocol of the fleet (`mixed`: round-robin over all three).
    #[arg(long, value_enum, default_value_t = ProtocolChoice::Teltonika)]
    pub protocol: ProtocolChoice,
    /// Number of scooters.
    #[arg(long, default_value_t = 10)]
    pub scooters: u32,
    /// Seconds between two reports of one scooter.
    #[arg(long, default_value_t = 5.0)]
    pub interval: f64,
    /// Gateway HOST:PORT for a single-protocol fleet (default 127.0.0.1:5027 Teltonika,
    /// :5028 Omni, :5023 GT06). Not valid with `mixed`: use the per-protocol options.
    #[arg(long)]
    pub gateway: Option<String>,
    /// Teltonika listener HOST:PORT (default 127.0.0.1:5027).
    #[arg(long)]
    pub teltonika: Option<String>,
    /// Omni listener HOST:PORT (default 127.0.0.1:5028).
    #[arg(long)]
    pub omni: Option<String>,
    /// GT06 listener HOST:PORT (default 127.0.0.1:5023).
    #[arg(long)]
    pub gt06: Option<String>,
    /// Device id of the first scooter; the others count up (15-digit IMEIs by default).
    #[arg(long, default_value_t = 350_000_000_000_000)]
    pub id_base: u64,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub duration: Option<f64>,
    /// How long a scooter waits for an ACK before it reconnects and re-sends.
    #[arg(long, default_value_t = 5000)]
    pub ack_timeout_ms: u64,
    /// Seed of the random start positions and walks (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The first N scooters start with an almost empty battery
    /// ([`LOW_BATTERY_PCT`](super::LOW_BATTERY_PCT)), below what a rider may take.
    #[arg(long, default_value_t = 0)]
    pub low_battery: u32,
}

impl Default for SimulateArgs {
    fn default() -> Self {
        Self {
            protocol: ProtocolChoice::Teltonika,
            scooters: 10,
            interval: 5.0,
            gateway: None,
            teltonika: None,
            omni: None,
            gt06: None,
            id_base: 350_000_000_000_000,
            duration: None,
            ack_timeout_ms: 5000,
            seed: None,
            low_battery: 0,
        }
    }
}

/// The arguments do not describe a runnable fleet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `--interval` or `--duration` is not a positive number of seconds.
    #[error("{0} must be a positive number of seconds")]
    Seconds(&'static str),
    /// `--gateway` was given with `--protocol mixed`.
    #[error("--gateway needs a single protocol; with mixed use --teltonika/--omni/--gt06")]
    GatewayWithMixed,
    /// A device id does not fit the protocol.
    #[error("device id {0} is too long for GT06 (at most 16 digits)")]
    IdTooLong(u64),
    /// `--id-base` plus the fleet size overflows.
    #[error("--id-base {0} plus the fleet size overflows")]
    IdOverflow(u64),
}

/// One scooter of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScooterPlan {
    pub(crate) index: u64,
    pub(crate) protocol: Protocol,
    pub(crate) device_id: String,
    pub(crate) addr: String,
}

/// The checked fleet plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FleetPlan {
    pub(crate) scooters: Vec<ScooterPlan>,
    pub(crate) interval: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) duration: Option<Duration>,
    pub(crate) seed: u64,
    pub(crate) low_battery: u64,
}

impl SimulateArgs {
    /// The gateway address scooters of `protocol` connect to.
    pub fn address_of(&self, protocol: Protocol) -> String {
        let (specific, default) = match protocol {
            Protocol::Teltonika => (&self.teltonika, TELTONIKA_ADDR),
            Protocol::Omni => (&self.omni, OMNI_ADDR),
            Protocol::Gt06 => (&self.gt06, GT06_ADDR),
        };
        specific
            .clone()
            .or_else(|| self.gateway.clone())
            .unwrap_or_else(|| default.to_owned())
    }

    /// Checks the arguments and lays out the fleet.
    pub(crate) fn plan(&self) -> Result<FleetPlan, ConfigError> {
        let interval = seconds(self.interval, "--interval")?;
        let duration = self
            .duration
            .map(|d| seconds(d, "--duration"))
            .transpose()?;
        if self.protocol == ProtocolChoice::Mixed && self.gateway.is_some() {
            return Err(ConfigError::GatewayWithMixed);
        }
        let scooters = (0..u64::from(self.scooters))
            .map(|index| self.scooter(index))
            .collect::<Result<_, _>>()?;
        Ok(FleetPlan {
            scooters,
            interval,
            ack_timeout: Duration::from_millis(self.ack_timeout_ms.max(1)),
            duration,
            seed: self.seed.unwrap_or_else(rand::random),
            low_battery: u64::from(self.low_battery),
        })
    }

    fn scooter(&self, index: u64) -> Result<ScooterPlan, ConfigError> {
        let protocol = self.protocol.protocol_of(index);
        let id = self
            .id_base
            .checked_add(index)
            .ok_or(ConfigError::IdOverflow(self.id_base))?;
        if protocol == Protocol::Gt06 && id > GT06_MAX_ID {
            return Err(ConfigError::IdTooLong(id));
        }
        Ok(ScooterPlan {
            index,
            protocol,
            device_id: id.to_string(),
            addr: self.address_of(protocol),
        })
    }
}

fn seconds(value: f64, name: &'static str) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or(ConfigError::Seconds(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_fleets_round_robin_with_per_protocol_addresses() {
        let args = SimulateArgs {
            protocol: ProtocolChoice::Mixed,
            scooters: 4,
            omni: Some("10.0.0.1:9".into()),
            seed: Some(1),
            ..SimulateArgs::default()
        };
        let plan = args.plan().unwrap();
        let got: Vec<_> = plan
            .scooters
            .iter()
            .map(|s| (s.protocol, s.device_id.as_str(), s.addr.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Protocol::Teltonika, "350000000000000", TELTONIKA_ADDR),
                (Protocol::Omni, "350000000000001", "10.0.0.1:9"),
                (Protocol::Gt06, "350000000000002", GT06_ADDR),
                (Protocol::Teltonika, "350000000000003", TELTONIKA_ADDR),
            ]
        );
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    #[test]
    fn command_line_defaults_match_the_default_arguments() {
        use clap::Parser;
        assert_eq!(
            Cli::try_parse_from(["sim"]).unwrap().args,
            SimulateArgs::default()
        );
        let cli = Cli::try_parse_from([
            "sim",
            "--protocol",
            "gt06",
            "--scooters",
            "3",
            "--interval",
            "0.5",
            "--duration",
            "60",
            "--seed",
            "9",
        ])
        .unwrap();
        assert_eq!(
            (cli.args.protocol, cli.args.scooters, cli.args.interval),
            (ProtocolChoice::Gt06, 3, 0.5)
        );
        assert_eq!(cli.args.address_of(Protocol::Gt06), GT06_ADDR);
    }

    #[test]
    fn bad_arguments_are_refused() {
        let bad_interval = SimulateArgs {
            interval: 0.0,
            ..SimulateArgs::default()
        };
        assert_eq!(bad_interval.plan(), Err(ConfigError::Seconds("--interval")));
        let mixed = SimulateArgs {
            protocol: ProtocolChoice::Mixed,
            gateway: Some("h:1".into()),
            ..SimulateArgs::default()
        };
        assert_eq!(mixed.plan(), Err(ConfigError::GatewayWithMixed));
        let long = SimulateArgs {
            protocol: ProtocolChoice::Gt06,
            id_base: 99_999_999_999_999_999,
            ..SimulateArgs::default()
        };
        assert!(matches!(long.plan(), Err(ConfigError::IdTooLong(_))));
    }
}
