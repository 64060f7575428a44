//! `tessera-codec-derive`: `#[derive(Encode, Decode, Check)]` for the JAM codec of
//! GP Appendix C (serialization.tex), as implemented by `tessera_core::codec`.
//!
//! Use it through `tessera_core` (`tessera_core::codec::{Encode, Decode}`,
//! `tessera_core::types::Check`), never directly: the generated code names
//! `::tessera_core` paths. It generates exactly what the hand-written impls did —
//! the same octets, the same decode errors with the same names, the same bounded
//! reads through `Reader` — and nothing of its own: every length prefix is checked
//! by `Reader::length` against the declared maximum and the input left before
//! anything is allocated.
//!
//! # Structs
//!
//! A struct encodes as its fields in declaration order, `E(a, b, …) = E(a) ⌢ E(b) ⌢ …`
//! (C.1.1: a tuple serializes as the concatenation of its elements).
//! A field with no attribute uses its type's own `Encode`/`Decode`/`Check`.
//! Field attributes, `#[codec(…)]`:
//!
//! | attribute | encoding | GP |
//! | --- | --- | --- |
//! | `compact` | the variable-length natural `E(x)`; decoding rejects non-canonical forms and values the field's integer type cannot hold | C.1.3, eq. C.6 |
//! | `fixed` | `E_l(x)`, `l` the octets of the field's integer type, little-endian; decode errors name the field | C.1.2, eq. C.5 |
//! | `len = EXPR` | a sequence of exactly `EXPR` items (a length the type or the chain spec fixes), no prefix | C.1.4 |
//! | `seq` | the length-prefixed sequence `↕x`: the item count `n` as `E(n)`, then `E(x_0) ⌢ … ⌢ E(x_{n−1})` | C.1.4, eq. C.6 for the prefix |
//! | `seq, max = EXPR` | the same, with the prefix bounded by `EXPR` before anything is read | C.1.4 |
//! | `seq, sorted` | the same, items strictly increasing (a set) | C.1.4 |
//! | `seq, sorted_by = key` | a dictionary held as a `Vec` of entries: strictly increasing `item.key` | C.1.4, eq. C.10 |
//! | `dict` (`max = EXPR`) | a `BTreeMap` dictionary: `↕[(k, v) ∣ k ∈ keys(d)]`, strictly increasing keys | C.1.4, eq. C.10 |
//! | `len = EXPR, each(…)` | `EXPR` items without prefix, each serialized as `each`'s attributes say (`each(seq, max = …)`: `C` bounded sequences) | C.1.4 |
//! | `optional` (with any of the above) | `¿x`: `0` for none, `1 ⌢ E(x)` for some | C.1.5 |
//! | `name = "…"` | the name a decode error gives the field (default: the field's name) | — |
//!
//! `EXPR` is any Rust expression of type `usize`; it may use `spec`, the
//! `&ChainSpec` the reader carries (`len = spec.validators()`).
//!
//! # Enums
//!
//! An enum encodes as a discriminator octet, then its variant's fields as a struct's
//! (C.1.5 generalised: `¿x` is the two-variant case). Variant `i` has tag `i` unless
//! `#[codec(tag = N)]` says otherwise. Container attributes name the decode errors:
//! `#[codec(tag_name = "…")]` for a missing tag octet, `#[codec(what = "…")]` for an
//! unknown tag.
//!
//! # `Check`
//!
//! `#[derive(Check)]` checks what the encoding relies on and decoding enforces:
//! `len` is `Bound::Exactly`, `seq, max` is `Bound::AtMost`, and every field is
//! checked in turn, its violations prefixed by its name (unnamed fields of a
//! newtype add nothing to the path).
//!
//! Errors in the attributes are compile errors at the offending tokens; the macros
//! never panic.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Expr, Fields, GenericArgument, Ident, LitInt, LitStr, PathArguments, Type,
};

/// `Encode` (GP Appendix C): see the crate documentation for the attributes.
#[proc_macro_derive(Encode, attributes(codec))]
pub fn derive_encode(input: TokenStream) -> TokenStream {
    derive(input, Derive::Encode)
}

/// `Decode` (GP Appendix C, its inverse): see the crate documentation.
#[proc_macro_derive(Decode, attributes(codec))]
pub fn derive_decode(input: TokenStream) -> TokenStream {
    derive(input, Derive::Decode)
}

/// `Check`: the chain-spec bounds of the `#[codec]` attributes, field by field.
#[proc_macro_derive(Check, attributes(codec))]
pub fn derive_check(input: TokenStream) -> TokenStream {
    derive(input, Derive::Check)
}

/// Parse, expand, and turn any error into a `compile_error!` at its span.
fn derive(input: TokenStream, which: Derive) -> TokenStream {
    syn::parse::<DeriveInput>(input)
        .and_then(|input| expand(&input, which))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Derive {
    Encode,
    Decode,
    Check,
}

/// How one field is serialized.
enum Shape {
    /// The type's own impls.
    Plain,
    /// `E(x)`, eq. C.6.
    Compact,
    /// `E_l(x)`, eq. C.5, with the field's name in errors.
    Fixed,
    /// Exactly this many items, no prefix.
    Len(Expr),
    /// `↕x`, with an optional bound and an ordering rule.
    Seq { max: Option<Expr>, order: Order },
    /// A `BTreeMap`, eq. C.10.
    Dict { max: Option<Expr> },
}

enum Order {
    Any,
    Sorted,
    By(Ident),
}

struct FieldAttrs {
    shape: Shape,
    /// With `len`: how each item is serialized, when not by its own impls.
    each: Option<Box<FieldAttrs>>,
    optional: bool,
    name: Option<LitStr>,
}

fn field_attrs(attrs: &[syn::Attribute]) -> syn::Result<FieldAttrs> {
    let mut b = AttrBuilder::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("codec")) {
        attr.parse_nested_meta(|meta| b.add(meta))?;
    }
    b.finish()
}

/// The attributes of one field (or of the items of a `len` sequence, in `each`)
/// as they are read.
#[derive(Default)]
struct AttrBuilder {
    shape: Option<Shape>,
    max: Option<Expr>,
    order: Option<(Span, Order)>,
    each: Option<(Span, FieldAttrs)>,
    optional: bool,
    name: Option<LitStr>,
}

impl AttrBuilder {
    fn set(&mut self, span: Span, shape: Shape) -> syn::Result<()> {
        if self.shape.is_some() {
            return Err(syn::Error::new(
                span,
                "one of `compact`, `fixed`, `len`, `seq`, `dict` per field",
            ));
        }
        self.shape = Some(shape);
        Ok(())
    }

    fn add(&mut self, meta: syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
        let span = meta.path.span();
        let is = |name: &str| meta.path.is_ident(name);
        if is("compact") {
            self.set(span, Shape::Compact)
        } else if is("fixed") {
            self.set(span, Shape::Fixed)
        } else if is("len") {
            self.set(span, Shape::Len(meta.value()?.parse()?))
        } else if is("seq") {
            let order = Order::Any;
            self.set(span, Shape::Seq { max: None, order })
        } else if is("dict") {
            self.set(span, Shape::Dict { max: None })
        } else if is("max") {
            self.max = Some(meta.value()?.parse()?);
            Ok(())
        } else if is("sorted") {
            self.order = Some((span, Order::Sorted));
            Ok(())
        } else if is("sorted_by") {
            self.order = Some((span, Order::By(meta.value()?.parse()?)));
            Ok(())
        } else if is("each") {
            let mut inner = AttrBuilder::default();
            meta.parse_nested_meta(|m| inner.add(m))?;
            self.each = Some((span, inner.finish()?));
            Ok(())
        } else if is("optional") {
            self.optional = true;
            Ok(())
        } else if is("name") {
            self.name = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(
                "unknown codec attribute; expected compact, fixed, len, seq, dict, max, \
                 sorted, sorted_by, each, optional or name",
            ))
        }
    }

    fn finish(self) -> syn::Result<FieldAttrs> {
        let mut shape = self.shape.unwrap_or(Shape::Plain);
        match (&mut shape, self.max, self.order) {
            (Shape::Seq { max: m, order: o }, max, order) => {
                *m = max;
                if let Some((_, order)) = order {
                    *o = order;
                }
            }
            (Shape::Dict { max: m }, max, None) => *m = max,
            (_, Some(max), _) => {
                return Err(syn::Error::new(
                    max.span(),
                    "`max` bounds a `seq` or a `dict`",
                ))
            }
            (_, None, Some((span, _))) => {
                return Err(syn::Error::new(
                    span,
                    "`sorted` and `sorted_by` order a `seq`",
                ))
            }
            (_, None, None) => {}
        }
        let each = match (&shape, self.each) {
            (Shape::Len(_), each) => each.map(|(_, e)| Box::new(e)),
            (_, Some((span, _))) => {
                return Err(syn::Error::new(
                    span,
                    "`each(…)` describes the items of a `len` sequence",
                ))
            }
            (_, None) => None,
        };
        Ok(FieldAttrs {
            shape,
            each,
            optional: self.optional,
            name: self.name,
        })
    }
}

/// A field of a struct or variant, with how to reach it.
struct FieldInfo<'a> {
    field: &'a syn::Field,
    attrs: FieldAttrs,
    /// The binding it has in a pattern or a constructor.
    binding: Ident,
    /// Its name in decode errors and `Check` paths.
    what: LitStr,
    /// Whether `Check` paths name it (named fields) or not (newtypes).
    named: bool,
}

fn fields_info(fields: &Fields) -> syn::Result<Vec<FieldInfo<'_>>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let attrs = field_attrs(&field.attrs)?;
            let (binding, default_name, named) = match &field.ident {
                Some(ident) => (ident.clone(), ident.to_string(), true),
                None => (format_ident!("f{}", i), i.to_string(), false),
            };
            let what = attrs
                .name
                .clone()
                .unwrap_or_else(|| LitStr::new(&default_name, field.span()));
            Ok(FieldInfo {
                field,
                attrs,
                binding,
                what,
                named,
            })
        })
        .collect()
}

fn uses_spec(fields: &[FieldInfo<'_>]) -> bool {
    fields.iter().any(|f| match &f.attrs.shape {
        Shape::Len(_) => true,
        Shape::Seq { max, .. } | Shape::Dict { max } => max.is_some(),
        _ => false,
    })
}

/// The item type `T` of a `Vec<T>` field, for the key closure of `sorted_by` and
/// the items of `each`.
fn vec_item(ty: &Type) -> syn::Result<&Type> {
    if let Type::Path(p) = ty {
        if let Some(last) = p.path.segments.last() {
            if last.ident == "Vec" {
                if let PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(GenericArgument::Type(item)) = args.args.first() {
                        return Ok(item);
                    }
                }
            }
        }
    }
    Err(syn::Error::new(
        ty.span(),
        "`sorted_by` and `each` need a `Vec<T>` field (not an optional one)",
    ))
}

fn max_tokens(max: &Option<Expr>) -> Tokens {
    match max {
        Some(e) => quote!(::core::option::Option::Some(#e)),
        None => quote!(::core::option::Option::None),
    }
}

/// Statements appending `E(value)` to `out`; `value` is a `&T`.
fn encode_value(attrs: &FieldAttrs, value: &Tokens) -> Tokens {
    let inner = |v: &Tokens| match (&attrs.shape, &attrs.each) {
        (Shape::Plain | Shape::Fixed | Shape::Dict { .. }, _) => {
            quote!(::tessera_core::codec::Encode::encode_to(#v, out);)
        }
        (Shape::Compact, _) => quote!(
            ::tessera_core::codec::encode_natural(::core::convert::Into::<u64>::into(*#v), out);
        ),
        (Shape::Len(_), None) => quote!(::tessera_core::codec::encode_fixed_seq(#v, out);),
        (Shape::Len(_), Some(each)) => {
            let item = encode_value(each, &quote!(item));
            quote!(for item in #v.iter() { #item })
        }
        (Shape::Seq { .. }, _) => quote!(::tessera_core::codec::encode_seq(#v, out);),
    };
    if attrs.optional {
        let some = inner(&quote!(v));
        quote! {
            match #value {
                ::core::option::Option::None => out.push(0),
                ::core::option::Option::Some(v) => {
                    out.push(1);
                    #some
                }
            }
        }
    } else {
        inner(value)
    }
}

/// An expression of type `Result<T, DecodeError>` reading a `ty` from `r`.
fn decode_value(attrs: &FieldAttrs, what: &LitStr, ty: &Type) -> syn::Result<Tokens> {
    let inner = match &attrs.shape {
        Shape::Plain => quote!(::tessera_core::codec::Decode::decode(r)),
        Shape::Compact => quote!(::tessera_core::codec::decode_compact(r, #what)),
        Shape::Fixed => quote!(::tessera_core::codec::FixedWidth::decode_fixed(r, #what)),
        Shape::Len(n) => match &attrs.each {
            None => quote!(r.fixed_seq(#n)),
            Some(each) => {
                let item_what = each.name.as_ref().unwrap_or(what);
                let item = decode_value(each, item_what, vec_item(ty)?)?;
                quote!(r.fixed_seq_with(#n, |r| #item))
            }
        },
        Shape::Seq { max, order } => {
            let max = max_tokens(max);
            match order {
                Order::Any => quote!(r.seq(#what, #max)),
                Order::Sorted => quote!(r.sorted_seq(#what, #max)),
                Order::By(key) => {
                    let item = vec_item(ty)?;
                    quote!(r.seq_sorted_by(#what, #max, |item: &#item| item.#key))
                }
            }
        }
        Shape::Dict { max } => {
            let max = max_tokens(max);
            quote!(r.dictionary(#what, #max))
        }
    };
    Ok(if attrs.optional {
        quote!(::tessera_core::codec::decode_option(r, |r| #inner))
    } else {
        inner
    })
}

/// An expression of type `Result<(), SpecViolation>` checking `value` (a `&T`).
fn check_value(attrs: &FieldAttrs, value: &Tokens) -> Tokens {
    let bounds = quote!(::tessera_core::types::bounds);
    let inner = |v: &Tokens| match (&attrs.shape, &attrs.each) {
        (Shape::Plain | Shape::Compact | Shape::Fixed, _) => {
            quote!(::tessera_core::types::Check::check(#v, spec))
        }
        (Shape::Len(n), None) => {
            quote!(#bounds::check_seq(#v, #bounds::Bound::Exactly(#n), spec))
        }
        (Shape::Len(n), Some(each)) => {
            let item = check_value(each, &quote!(item));
            quote!(#bounds::check_each(#v, #bounds::Bound::Exactly(#n), |item| #item))
        }
        (Shape::Seq { max: Some(m), .. }, _) => {
            quote!(#bounds::check_seq(#v, #bounds::Bound::AtMost(#m), spec))
        }
        (Shape::Seq { max: None, .. }, _) => quote!(#bounds::check_items(#v, spec)),
        // A `BTreeMap` is ordered by construction; only its size may be bounded.
        (Shape::Dict { max: Some(m) }, _) => {
            quote!(#bounds::Bound::AtMost(#m).check(#v.len()))
        }
        (Shape::Dict { max: None }, _) => {
            quote!(::core::result::Result::<
                (),
                ::tessera_core::types::SpecViolation,
            >::Ok(()))
        }
    };
    if attrs.optional {
        let some = inner(&quote!(v));
        quote!(match #value {
            ::core::option::Option::None => ::core::result::Result::Ok(()),
            ::core::option::Option::Some(v) => #some,
        })
    } else {
        inner(value)
    }
}

fn encode_field(f: &FieldInfo<'_>, value: &Tokens) -> Tokens {
    encode_value(&f.attrs, value)
}

fn decode_field(f: &FieldInfo<'_>) -> syn::Result<Tokens> {
    decode_value(&f.attrs, &f.what, &f.field.ty)
}

/// A statement checking the field (a `&T` in `value`), its violations under its name.
fn check_field(f: &FieldInfo<'_>, value: &Tokens) -> Tokens {
    let check = check_value(&f.attrs, value);
    if f.named {
        let what = LitStr::new(&f.binding.to_string(), f.binding.span());
        quote!(#check.map_err(|e| e.within(#what))?;)
    } else {
        quote!(#check?;)
    }
}

/// `Self { a, b }`, `Self(f0, f1)` or `Self` for a constructor or a pattern.
fn construct(path: Tokens, fields: &Fields, infos: &[FieldInfo<'_>]) -> Tokens {
    let bindings = infos.iter().map(|f| &f.binding);
    match fields {
        Fields::Named(_) => quote!(#path { #(#bindings),* }),
        Fields::Unnamed(_) => quote!(#path ( #(#bindings),* )),
        Fields::Unit => path,
    }
}

/// The container attributes of an enum: the names its decode errors use.
struct EnumAttrs {
    tag_name: LitStr,
    what: LitStr,
}

fn enum_attrs(input: &DeriveInput) -> syn::Result<EnumAttrs> {
    let mut tag_name = None;
    let mut what = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("codec")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("tag_name") {
                tag_name = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("what") {
                what = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error("unknown codec attribute; expected tag_name or what"));
            }
            Ok(())
        })?;
    }
    let ident = input.ident.to_string();
    Ok(EnumAttrs {
        tag_name: tag_name
            .unwrap_or_else(|| LitStr::new(&format!("{ident} tag"), Span::call_site())),
        what: what.unwrap_or_else(|| LitStr::new(&ident, Span::call_site())),
    })
}

fn variant_tag(variant: &syn::Variant, index: usize) -> syn::Result<u8> {
    let mut tag = None;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("codec")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("tag") {
                tag = Some(meta.value()?.parse::<LitInt>()?.base10_parse::<u8>()?);
                Ok(())
            } else {
                Err(meta.error("unknown codec attribute on a variant; expected tag"))
            }
        })?;
    }
    match tag {
        Some(t) => Ok(t),
        None => u8::try_from(index)
            .map_err(|_| syn::Error::new(variant.span(), "more than 256 variants need a tag each")),
    }
}

fn expand(input: &DeriveInput, derive: Derive) -> syn::Result<Tokens> {
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    let bound = match derive {
        Derive::Encode => quote!(::tessera_core::codec::Encode),
        Derive::Decode => quote!(::tessera_core::codec::Decode),
        Derive::Check => quote!(::tessera_core::types::Check),
    };
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse2(bound.clone())?);
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let body = match &input.data {
        Data::Struct(s) => {
            let infos = fields_info(&s.fields)?;
            struct_body(derive, &s.fields, &infos)?
        }
        Data::Enum(e) => enum_body(input, derive, e)?,
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span(),
                "the JAM codec has no encoding for unions",
            ))
        }
    };
    let span = input.ident.span();
    Ok(match derive {
        Derive::Encode => quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics ::tessera_core::codec::Encode for #ident #ty_generics #where_clause {
                fn encode_to(&self, out: &mut ::std::vec::Vec<u8>) {
                    #body
                }
            }
        },
        Derive::Decode => quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics ::tessera_core::codec::Decode for #ident #ty_generics #where_clause {
                fn decode(
                    r: &mut ::tessera_core::codec::Reader<'_>,
                ) -> ::core::result::Result<Self, ::tessera_core::codec::DecodeError> {
                    #body
                }
            }
        },
        Derive::Check => quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics ::tessera_core::types::Check for #ident #ty_generics #where_clause {
                fn check(
                    &self,
                    spec: &::tessera_core::ChainSpec,
                ) -> ::core::result::Result<(), ::tessera_core::types::SpecViolation> {
                    let _ = spec;
                    #body
                }
            }
        },
    })
}

fn spec_binding(infos: &[FieldInfo<'_>]) -> Tokens {
    if uses_spec(infos) {
        // `spec` is named in the attributes' expressions (some may not use it).
        quote!(let spec: &::tessera_core::ChainSpec = r.spec(); let _ = spec;)
    } else {
        Tokens::new()
    }
}

/// Statements that read each field into its binding.
fn decode_bindings(infos: &[FieldInfo<'_>]) -> syn::Result<Tokens> {
    let mut out = Tokens::new();
    for f in infos {
        let binding = &f.binding;
        let read = decode_field(f)?;
        out.extend(quote!(let #binding = #read?;));
    }
    Ok(out)
}

fn struct_body(derive: Derive, fields: &Fields, infos: &[FieldInfo<'_>]) -> syn::Result<Tokens> {
    Ok(match derive {
        Derive::Encode => {
            let pattern = construct(quote!(Self), fields, infos);
            let each = infos
                .iter()
                .map(|f| encode_field(f, &f.binding.to_token_stream()));
            quote! {
                let #pattern = self;
                #(#each)*
            }
        }
        Derive::Decode => {
            let spec = spec_binding(infos);
            let reads = decode_bindings(infos)?;
            let value = construct(quote!(Self), fields, infos);
            quote! {
                #spec
                #reads
                ::core::result::Result::Ok(#value)
            }
        }
        Derive::Check => {
            let pattern = construct(quote!(Self), fields, infos);
            let each = infos
                .iter()
                .map(|f| check_field(f, &f.binding.to_token_stream()));
            quote! {
                let #pattern = self;
                #(#each)*
                ::core::result::Result::Ok(())
            }
        }
    })
}

fn enum_body(input: &DeriveInput, derive: Derive, data: &syn::DataEnum) -> syn::Result<Tokens> {
    let attrs = enum_attrs(input)?;
    if data.variants.is_empty() {
        // An empty enum has no value to encode, and no tag could name one.
        return Err(syn::Error::new(
            input.ident.span(),
            "an enum without variants has no encoding; write its impls by hand",
        ));
    }
    let mut arms = Vec::new();
    let mut all_infos = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (index, variant) in data.variants.iter().enumerate() {
        let tag = variant_tag(variant, index)?;
        if !seen.insert(tag) {
            return Err(syn::Error::new(
                variant.span(),
                format!("tag {tag} is used twice"),
            ));
        }
        let infos = fields_info(&variant.fields)?;
        let name = &variant.ident;
        let path = construct(quote!(Self::#name), &variant.fields, &infos);
        arms.push(match derive {
            Derive::Encode => {
                let each = infos
                    .iter()
                    .map(|f| encode_field(f, &f.binding.to_token_stream()));
                quote!(#path => { out.push(#tag); #(#each)* })
            }
            Derive::Decode => {
                let reads = decode_bindings(&infos)?;
                quote!(#tag => { #reads ::core::result::Result::Ok(#path) })
            }
            Derive::Check => {
                let each = infos
                    .iter()
                    .map(|f| check_field(f, &f.binding.to_token_stream()));
                quote!(#path => { #(#each)* })
            }
        });
        all_infos.extend(infos);
    }
    Ok(match derive {
        Derive::Encode => quote!(match self { #(#arms)* }),
        Derive::Decode => {
            let spec = spec_binding(&all_infos);
            let EnumAttrs { tag_name, what } = attrs;
            quote! {
                #spec
                let at = r.position();
                match r.u8(#tag_name)? {
                    #(#arms)*
                    tag => ::core::result::Result::Err(::tessera_core::codec::DecodeError::new(
                        at,
                        ::tessera_core::codec::DecodeErrorKind::InvalidTag { what: #what, tag },
                    )),
                }
            }
        }
        Derive::Check => quote! {
            match self { #(#arms)* }
            ::core::result::Result::Ok(())
        },
    })
}
