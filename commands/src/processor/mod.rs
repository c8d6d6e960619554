//! The commands processor (`fleetlog commands`, also in `fleetlog up`): app commands and
//! device facts in, decisions out.
//!
//! ```text
//! app.commands.v1 ─┐                                   ┌─▶ fleet.events.v1
//! scooter.telemetry.v1, sessions.v1, replies.v1 ─▶ deciders ─▶ outbox ─▶ relay
//!                  └─ (device id → vehicle id)         └─▶ scooter.downlink.v1
//! ```
//!
//! It runs on the projection runtime (projection `commands`, schema `proj_commands_v1`):
//! each batch is decoded, the vehicles it concerns are loaded and locked, every input is
//! decided in log order by the pure deciders ([`crate::vehicle`], [`crate::zone`]), and the
//! new decider states, the rider index, the zones and the decided records (in an `outbox`
//! table) are written **in the transaction that stores the batch's offsets**. A crash before
//! the commit decides the batch again from the old state; after it, nothing is decided
//! twice. The relay ([`outbox`]) then appends the outbox to the log; the ticker decides
//! what falls due with no input (reservations lapsing, unlocks never confirmed).
//!
//! Cross-vehicle rules live in the processor's tables: the rider index (`riders`, one row
//! per rider: a rider holds at most one vehicle) and the registrations (a device and a QR
//! code belong to one vehicle), both unique in PostgreSQL.

mod inputs;
mod outbox;
mod step;
#[cfg(test)]
mod step_tests;
mod store;
mod ticker;

use std::time::Duration;

use fleetlog_processor::execute_in_schema;
use fleetlog_processor::schema_name;
use fleetlog_processor::{Projection, ProjectionError, SourceRecord};
use fleetlog_runtime::settings::CommandSettings;
use fleetlog_runtime::{Settings, Shutdown};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use futures::future::BoxFuture;

use crate::context::{DeciderConfig, Pricing};
use step::Rules;

/// The processor's name on the projection runtime.
pub const NAME: &str = "commands";
/// The version of its tables (schema `proj_commands_v1`).
pub const VERSION: u32 = 1;
/// What it reads.
pub static TOPICS: [&str; 4] = [
    topics::APP_COMMANDS.name(),
    topics::TELEMETRY.name(),
    topics::SESSIONS.name(),
    topics::REPLIES.name(),
];

const METRIC_DECISIONS: &str = "fleetlog_commands_decisions_total";
const METRIC_PUBLISHED: &str = "fleetlog_commands_outbox_published_total";

/// The deciders' rules and prices from the settings.
pub fn rules(settings: &CommandSettings) -> (DeciderConfig, Pricing) {
    let ms = |s: u32| i64::from(s) * 1000;
    (
        DeciderConfig {
            min_battery_pct: settings.min_battery_pct,
            reservation_ttl_ms: ms(settings.reservation_ttl_s),
            unlock_timeout_ms: ms(settings.unlock_timeout_s),
            lock_timeout_ms: ms(settings.lock_timeout_s),
        },
        Pricing {
            unlock_fee_minor: settings.unlock_fee_minor,
            per_minute_minor: settings.per_minute_minor,
            currency: settings.currency.clone(),
        },
    )
}

/// The processor as a projection of the runtime; see the module docs.
pub struct CommandsProcessor {
    codec: WireCodec,
    rules: Rules,
}

impl CommandsProcessor {
    /// A processor deciding with `settings`, decoding and encoding through the registry at
    /// `registry_url`.
    pub fn new(settings: &CommandSettings, registry_url: &str) -> Self {
        let (config, pricing) = rules(settings);
        Self {
            codec: WireCodec::new(registry_url),
            rules: Rules { config, pricing },
        }
    }
}

impl Projection for CommandsProcessor {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn topics(&self) -> &'static [&'static str] {
        &TOPICS
    }

    fn migrate<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(execute_in_schema(
            tx,
            include_str!("../../sql/migrate.sql"),
            schema,
        ))
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
        batch: &'a [SourceRecord],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            let inputs = inputs::decode_batch(&self.codec, batch).await?;
            if inputs.is_empty() {
                return Ok(());
            }
            let loaded = store::load(tx, schema, &store::Keys::of(&inputs)).await?;
            let outcome = step::decide_batch(loaded, &inputs, &self.rules);
            store::save(tx, schema, &self.codec, &outcome).await?;
            metrics::counter!(METRIC_DECISIONS, "outcome" => "accepted")
                .increment(outcome.accepted);
            metrics::counter!(METRIC_DECISIONS, "outcome" => "rejected")
                .increment(outcome.rejected);
            Ok(())
        })
    }
}

/// Spawn the processor, its outbox relay and its ticker on `shutdown`.
///
/// # Errors
/// When the Kafka producer cannot be created.
pub fn spawn(
    shutdown: &mut Shutdown,
    settings: &Settings,
    pool: sqlx::PgPool,
) -> anyhow::Result<()> {
    let schema = schema_name(NAME, VERSION)?;
    let producer =
        fleetlog_runtime::producer::Producer::from_settings(&settings.kafka, "commands")?;
    let processor = CommandsProcessor::new(&settings.commands, &settings.schema_registry_url);
    let rules = processor.rules.clone();
    let token = shutdown.token();
    let owned = settings.clone();
    let runtime_pool = pool.clone();
    shutdown.spawn("commands", async move {
        fleetlog_processor::run(processor, &owned, runtime_pool, token).await
    });
    let (relay_pool, relay_schema, token) = (pool.clone(), schema.clone(), shutdown.token());
    shutdown.spawn("commands-outbox", async move {
        wait_for_schema(&relay_pool, &token).await;
        outbox::run(relay_pool, relay_schema, producer, token).await
    });
    let codec = WireCodec::new(&settings.schema_registry_url);
    let interval = Duration::from_millis(settings.commands.tick_interval_ms.max(10));
    let token = shutdown.token();
    shutdown.spawn("commands-ticker", async move {
        wait_for_schema(&pool, &token).await;
        ticker::run(pool, schema, codec, rules, interval, token).await
    });
    Ok(())
}

/// Until the runtime has created the processor's schema (or shutdown).
async fn wait_for_schema(pool: &sqlx::PgPool, shutdown: &tokio_util::sync::CancellationToken) {
    loop {
        if let Ok(Some(_)) = fleetlog_processor::live_schema(pool, NAME).await {
            return;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}
