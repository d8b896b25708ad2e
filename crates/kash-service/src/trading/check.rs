//! `kash-admin ledger check`: every invariant of the books, each violation named.
//!
//! 1. every ledger transaction's entries sum to zero;
//! 2. every account's stored balance equals the sum of its entries;
//! 3. no user, organization, market, fee or accrual balance is negative (the treasury and the
//!    external account may be);
//! 4. Σ balances = Σ deposits − Σ withdrawals, the treasury counting as a deposit source;
//! 5. every market's ledger balance equals the balance in its market-maker state, and the
//!    state validates; while open, `reserve = balance · U`;
//! 6. the holdings of every outcome of an open market sum to its supply; in a resolved market
//!    the unredeemed winning holdings sum to the remaining winning supply;
//! 7. revenue share, per organization: unsettled accruals equal its accrual balance, settled
//!    accruals less payouts its payable balance, and Σ accruals = accrued + payable + paid out;
//! 8. every completed trade has its ledger transaction.

use kash_core::amm::Settlement;
use kash_store::ledger::{self, kind};
use kash_store::{accruals, markets, positions, revenue_events, trades};
use ruint::aliases::U256;
use serde::Serialize;

use crate::{ServiceError, Services};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub accounts: usize,
    pub transactions: i64,
    pub markets: usize,
    pub deposits_atomic: i64,
    pub withdrawals_atomic: i64,
    pub violations: Vec<String>,
}

impl Report {
    pub fn balanced(&self) -> bool {
        self.violations.is_empty()
    }
}

pub async fn run(svc: &Services) -> Result<Report, ServiceError> {
    let db = svc.db.reader();
    let mut v = Vec::new();
    for tx in ledger::unbalanced_transactions(db).await? {
        v.push(format!("ledger transaction {tx} does not sum to zero"));
    }
    for (id, stored, summed) in ledger::drifted_accounts(db).await? {
        v.push(format!(
            "account {id}: stored balance {stored} but entries sum to {summed}"
        ));
    }
    let accounts = ledger::all_accounts(db).await?;
    let mut total: i128 = 0;
    let mut treasury: i128 = 0;
    for a in &accounts {
        total += i128::from(a.balance_atomic);
        match a.kind.as_str() {
            kind::TREASURY => treasury += i128::from(a.balance_atomic),
            kind::EXTERNAL => {}
            _ if a.balance_atomic < 0 => v.push(format!(
                "{} account {} ({}) is negative: {}",
                a.kind, a.id, a.owner_id, a.balance_atomic
            )),
            _ => {}
        }
    }
    let deposits = -ledger::external_flow(db, "deposit").await?;
    let withdrawals = ledger::external_flow(db, "withdrawal").await?;
    let external: i128 = accounts
        .iter()
        .filter(|a| a.kind == kind::EXTERNAL)
        .map(|a| i128::from(a.balance_atomic))
        .sum();
    let held = total - external - treasury;
    if held != i128::from(deposits) - i128::from(withdrawals) - treasury {
        v.push(format!(
            "balance identity broken: balances {held} ≠ deposits {deposits} − withdrawals {withdrawals} + treasury funding {}",
            -treasury
        ));
    }
    if total != 0 {
        v.push(format!("all balances sum to {total}, not zero"));
    }
    let market_ids = markets::all_ids(db).await?;
    for id in &market_ids {
        let Some(m) = markets::get(db, id).await? else {
            continue;
        };
        let account = ledger::account_id(db, kind::MARKET, id).await?;
        let ledger_balance = match &account {
            Some(a) => accounts
                .iter()
                .find(|x| &x.id == a)
                .map(|x| x.balance_atomic)
                .unwrap_or(0),
            None => 0,
        };
        if ledger_balance != m.balance_atomic {
            v.push(format!(
                "market {id}: ledger balance {ledger_balance} ≠ state balance {}",
                m.balance_atomic
            ));
        }
        let state = match m.state() {
            Ok(s) => s,
            Err(e) => {
                v.push(format!("market {id}: {e}"));
                continue;
            }
        };
        if let Err(e) = state.validate() {
            v.push(format!("market {id}: {e}"));
        }
        let holdings = positions::of_market(db, id).await?;
        let mut per_outcome = vec![U256::ZERO; state.supplies.len()];
        for p in &holdings {
            if let Some(slot) = usize::try_from(p.outcome_index)
                .ok()
                .and_then(|i| per_outcome.get_mut(i))
            {
                *slot += p.shares_wad()?;
            }
        }
        match &state.settlement {
            Settlement::Open => {
                if state.reserve != state.balance.to_wad() {
                    v.push(format!(
                        "market {id}: reserve {} ≠ balance·U",
                        state.reserve
                    ));
                }
                for (i, (held, supply)) in per_outcome.iter().zip(&state.supplies).enumerate() {
                    if held != supply {
                        v.push(format!(
                            "market {id} outcome {i}: holdings {held} ≠ supply {supply}"
                        ));
                    }
                }
            }
            Settlement::Resolved {
                winners,
                remaining_winning_supply,
            } => {
                let unredeemed: U256 = winners
                    .iter()
                    .filter_map(|w| per_outcome.get(*w))
                    .copied()
                    .sum();
                if unredeemed != *remaining_winning_supply {
                    v.push(format!(
                        "market {id}: unredeemed winning holdings {unredeemed} ≠ remaining winning supply {remaining_winning_supply}"
                    ));
                }
            }
            Settlement::Cancelled(_) => {}
        }
    }
    // Revenue share: Σ accruals = accrued + payable + paid out, the accrual account equals
    // the unsettled accruals and the payable account the settled ones not yet paid out.
    let balance_of = |k: &str, org: &str| {
        accounts
            .iter()
            .find(|x| x.kind == k && x.owner_id == org)
            .map_or(0, |x| x.balance_atomic)
    };
    let totals = accruals::totals(db).await?;
    let mut orgs: Vec<String> = totals.iter().map(|t| t.0.clone()).collect();
    for a in &accounts {
        if (a.kind == kind::ORG_ACCRUAL || a.kind == kind::ORG_PAYABLE)
            && !orgs.contains(&a.owner_id)
        {
            orgs.push(a.owner_id.clone());
        }
    }
    for org in &orgs {
        let (all, unsettled, settled) = totals
            .iter()
            .find(|t| &t.0 == org)
            .map_or((0, 0, 0), |t| (t.1, t.2, t.3));
        let accrued = balance_of(kind::ORG_ACCRUAL, org);
        let payable = balance_of(kind::ORG_PAYABLE, org);
        let paid = revenue_events::sum_of_kind(db, org, "payout").await?;
        if accrued != unsettled {
            v.push(format!(
                "organization {org}: accruals {unsettled} ≠ accrual balance {accrued}"
            ));
        }
        if payable != settled - paid {
            v.push(format!(
                "organization {org}: settled accruals {settled} − paid out {paid} ≠ payable balance {payable}"
            ));
        }
        if i128::from(all) != i128::from(accrued) + i128::from(payable) + i128::from(paid) {
            v.push(format!(
                "organization {org}: Σ accruals {all} ≠ accrued {accrued} + payable {payable} + paid out {paid}"
            ));
        }
    }
    for t in trades::completed_without_ledger(db).await? {
        v.push(format!("completed trade {t} has no ledger transaction"));
    }
    Ok(Report {
        accounts: accounts.len(),
        transactions: ledger::transaction_count(db).await?,
        markets: market_ids.len(),
        deposits_atomic: deposits,
        withdrawals_atomic: withdrawals,
        violations: v,
    })
}
