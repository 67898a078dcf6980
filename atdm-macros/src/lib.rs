//! # atdm-macros
//!
//! `#[atdm_scenario("...")]`, the attribute that seeds a scenario before a Rust test's body and
//! resets it afterwards through a drop guard: after the body returns, after it panics, and when
//! an async test is cancelled.
//!
//! Use it through its re-export, `atdm_sqlx::atdm_scenario`; the guide (options, environment
//! variables, composition with rstest) is the documentation of `atdm_sqlx::testing`.
//!
//! The macro is thin on purpose: it parses its arguments (every misuse is a compile error with
//! a span), removes the `Seeded` argument, and wraps the body in calls to the hidden support
//! module `atdm_sqlx::__private`, where the behaviour lives as ordinary Rust.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, FnArg, Ident, Item, ItemFn, Lit, LitStr, Token, UnOp};

/// Seeds a scenario for one test and resets it when the test ends (returns, panics or is
/// cancelled).
///
/// Write it above the test attribute:
///
/// ```no_run
/// use atdm_sqlx::{atdm_scenario, testing::Seeded};
///
/// #[atdm_scenario("claim_denial_active_member", constraints(provider_network = "in_network"), seed = 42, reference_date = "2026-06-01")]
/// // `edge_cases` (or `edge_cases = "dangerous"`) adds a row per edge case of every seeded
/// // table's columns.
/// #[tokio::test]
/// async fn denied_claim_is_listed(data: Seeded) {
///     let member = data.key("member_id");
///     // ...
/// }
/// ```
///
/// The first argument without attributes receives the [`Seeded`] data; it is optional.
/// See `atdm_sqlx::testing` for the full guide.
///
/// [`Seeded`]: https://docs.rs/atdm-sqlx/latest/atdm_sqlx/testing/struct.Seeded.html
#[proc_macro_attribute]
pub fn atdm_scenario(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = None;
    let args = syn::parse::<Args>(attr)
        .map_err(|e| push(&mut errors, e))
        .ok();
    let item = syn::parse::<Item>(item)
        .map_err(|e| push(&mut errors, e))
        .ok();
    if let Some(Err(e)) = item.as_ref().map(check_item) {
        push(&mut errors, e);
    }
    match (args, item, errors) {
        (Some(args), Some(Item::Fn(f)), None) => render(args, f).into(),
        (_, _, Some(e)) => e.to_compile_error().into(),
        _ => unreachable!("no error means both parsed and the item is a function"),
    }
}

/// The attribute's arguments.
struct Args {
    scenario: LitStr,
    constraints: Vec<(Ident, TokenStream2)>,
    seed: Option<TokenStream2>,
    reference_date: Option<LitStr>,
    scenario_dir: Option<LitStr>,
    edge_cases: Option<LitStr>,
}

/// Adds `e` to the errors collected so far.
fn push(errors: &mut Option<syn::Error>, e: syn::Error) {
    match errors {
        Some(all) => all.combine(e),
        None => *errors = Some(e),
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        const USAGE: &str =
            "expected a scenario name first: #[atdm_scenario(\"claim_denial_active_member\")]";
        let scenario = match input.parse::<LitStr>() {
            Ok(s) if !s.value().trim().is_empty() => s,
            Ok(s) => return Err(syn::Error::new(s.span(), "the scenario name is empty")),
            Err(e) => return Err(syn::Error::new(e.span(), USAGE)),
        };
        let mut args = Args {
            scenario,
            constraints: Vec::new(),
            seed: None,
            reference_date: None,
            scenario_dir: None,
            edge_cases: None,
        };
        let mut errors = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let name: Ident = input.parse()?;
            match name.to_string().as_str() {
                "constraints" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let list = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
                    for e in list {
                        match constraint(&e) {
                            Ok((k, _)) if args.constraints.iter().any(|(o, _)| *o == k) => push(
                                &mut errors,
                                syn::Error::new(
                                    k.span(),
                                    format!("constraint `{k}` is given twice"),
                                ),
                            ),
                            Ok(kv) => args.constraints.push(kv),
                            Err(err) => push(&mut errors, err),
                        }
                    }
                }
                "seed" => {
                    input.parse::<Token![=]>()?;
                    let lit: Lit = input.parse()?;
                    match &lit {
                        Lit::Int(i) if i.base10_parse::<u64>().is_ok() => {
                            let v = i.base10_parse::<u64>()?;
                            args.seed = Some(quote_spanned!(i.span()=> #v));
                        }
                        _ => push(
                            &mut errors,
                            syn::Error::new(
                                lit.span(),
                                "seed must be an unsigned integer: seed = 42",
                            ),
                        ),
                    }
                }
                "reference_date" => {
                    input.parse::<Token![=]>()?;
                    let lit: LitStr = input.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "reference_date must be a date string: reference_date = \"2026-06-01\"",
                        )
                    })?;
                    if valid_date(&lit.value()) {
                        args.reference_date = Some(lit);
                    } else {
                        push(
                            &mut errors,
                            syn::Error::new(
                                lit.span(),
                                format!("{:?} is not a date in the form YYYY-MM-DD", lit.value()),
                            ),
                        );
                    }
                }
                "scenario_dir" => {
                    input.parse::<Token![=]>()?;
                    let lit: LitStr = input.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "scenario_dir must be a path string: scenario_dir = \"tests/scenarios\"",
                        )
                    })?;
                    match scenario_dir_problem(&lit.value()) {
                        None => args.scenario_dir = Some(lit),
                        Some(problem) => push(&mut errors, syn::Error::new(lit.span(), problem)),
                    }
                }
                "edge_cases" => {
                    // `edge_cases` alone means the valid classes.
                    let lit = if input.peek(Token![=]) {
                        input.parse::<Token![=]>()?;
                        input.parse::<LitStr>().map_err(|e| {
                            syn::Error::new(
                                e.span(),
                                "edge_cases is \"valid\" or \"dangerous\": edge_cases = \"valid\"",
                            )
                        })?
                    } else {
                        LitStr::new("valid", name.span())
                    };
                    if matches!(lit.value().as_str(), "valid" | "dangerous") {
                        args.edge_cases = Some(lit);
                    } else {
                        push(
                            &mut errors,
                            syn::Error::new(
                                lit.span(),
                                format!(
                                    "edge_cases is \"valid\" or \"dangerous\", not {:?}",
                                    lit.value()
                                ),
                            ),
                        );
                    }
                }
                other => {
                    push(
                        &mut errors,
                        syn::Error::new(
                            name.span(),
                            format!(
                                "unknown option `{other}`; the options are constraints(...), seed = <u64>, reference_date = \"YYYY-MM-DD\", scenario_dir = \"PATH\", edge_cases"
                            ),
                        ),
                    );
                    // Skip the option's value so later options are still checked.
                    while !input.is_empty() && !input.peek(Token![,]) {
                        input.parse::<proc_macro2::TokenTree>()?;
                    }
                }
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(args),
        }
    }
}

/// One `name = literal` of `constraints(...)`.
fn constraint(e: &Expr) -> syn::Result<(Ident, TokenStream2)> {
    const FORM: &str = "a constraint is `name = \"text\"`, `name = 42` or `name = true`";
    let Expr::Assign(a) = e else {
        return Err(syn::Error::new(e.span(), FORM));
    };
    let Expr::Path(p) = &*a.left else {
        return Err(syn::Error::new(a.left.span(), FORM));
    };
    let Some(name) = p.path.get_ident() else {
        return Err(syn::Error::new(p.span(), FORM));
    };
    let value = match &*a.right {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => quote!(#s),
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => quote!(#b),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let v = i.base10_parse::<i64>()?;
            quote_spanned!(i.span()=> #v)
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) if matches!(
            &**expr,
            Expr::Lit(ExprLit {
                lit: Lit::Int(_),
                ..
            })
        ) =>
        {
            let Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) = &**expr
            else {
                unreachable!("matched above")
            };
            let v = -i.base10_parse::<i64>()?;
            quote_spanned!(i.span()=> #v)
        }
        other => return Err(syn::Error::new(other.span(), FORM)),
    };
    Ok((name.clone(), value))
}

/// Why `dir` (relative to the crate's manifest directory, as `#[sqlx::test(migrations)]`
/// reads it) is not a scenario directory, if it is not.
fn scenario_dir_problem(dir: &str) -> Option<String> {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let path = std::path::Path::new(&root).join(dir);
    if !path.is_dir() {
        Some(format!(
            "scenario_dir {dir:?} is not a directory (the path is relative to the directory of the crate's Cargo.toml)"
        ))
    } else if !path.join("schema.toml").is_file() {
        Some(format!(
            "scenario_dir {dir:?} has no schema.toml; write one with `atdm introspect --out {dir}`"
        ))
    } else {
        None
    }
}

/// `YYYY-MM-DD` with a real month and day.
fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The item is a function without a receiver.
fn check_item(item: &Item) -> syn::Result<()> {
    let Item::Fn(f) = item else {
        return Err(syn::Error::new_spanned(
            item,
            "#[atdm_scenario] applies to a test function (`fn` or `async fn`)",
        ));
    };
    match f.sig.receiver() {
        Some(r) => Err(syn::Error::new_spanned(
            r,
            "a test function takes no `self`",
        )),
        None => Ok(()),
    }
}

/// Removes the `Seeded` argument and wraps the body between seeding and the guard's reset.
fn render(args: Args, mut f: ItemFn) -> TokenStream2 {
    // The first argument without attributes (rstest's #[case] and #[values] arguments keep
    // theirs) receives the seeded data.
    let seeded = f
        .sig
        .inputs
        .iter()
        .position(|a| matches!(a, FnArg::Typed(t) if t.attrs.is_empty()));
    let binding = match seeded {
        Some(i) => {
            let inputs = std::mem::take(&mut f.sig.inputs);
            let mut binding = None;
            for (j, arg) in inputs.into_iter().enumerate() {
                match arg {
                    FnArg::Typed(t) if j == i => binding = Some(t),
                    other => f.sig.inputs.push(other),
                }
            }
            binding
        }
        None => None,
    };
    let Args {
        scenario,
        constraints,
        seed,
        reference_date,
        scenario_dir,
        edge_cases,
    } = args;
    let name = &f.sig.ident;
    let mut request = quote_spanned! {scenario.span()=>
        ::atdm_sqlx::__private::Args::new(#scenario, ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)))
    };
    for (k, v) in constraints {
        let k = k.to_string();
        request = quote!(#request.constraint(#k, #v));
    }
    if let Some(s) = seed {
        request = quote!(#request.seed(#s));
    }
    if let Some(d) = reference_date {
        request = quote!(#request.reference_date(#d));
    }
    if let Some(mode) = edge_cases {
        request = quote!(#request.edge_cases(#mode));
    }
    if let Some(dir) = scenario_dir {
        request = if std::path::Path::new(&dir.value()).is_absolute() {
            quote!(#request.scenario_dir(#dir))
        } else {
            quote!(#request.scenario_dir(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #dir)))
        };
    }
    let guard = Ident::new("__atdm_guard", Span::mixed_site());
    let seed_call = if f.sig.asyncness.is_some() {
        quote!(::atdm_sqlx::__private::seed(#request).await)
    } else {
        quote!(::atdm_sqlx::__private::seed_blocking(#request))
    };
    let bind = binding.map(|t| {
        let (pat, ty) = (&t.pat, &t.ty);
        // Spanned at the user's type, so a wrong type is reported there.
        let value = quote_spanned!(ty.span()=> ::atdm_sqlx::__private::seeded(&#guard));
        quote!(let #pat: #ty = #value;)
    });
    let body = &f.block;
    f.block = syn::parse_quote!({
        let #guard = #seed_call;
        #bind
        #body
    });
    quote!(#f)
}
