// A recursive-descent (precedence-climbing) rendering of Prometheus's yacc grammar. Errors
// are thrown as ParseError from wherever they are found and turned into a Status once, in
// ParseExpr. Parsing first builds the tree (syntax errors, plus the checks Prometheus makes
// while building: unknown functions, misplaced ranges, offsets and @), then Check() walks it
// as Prometheus's checkAST does (types, arities, vector matching) in the same order, so the
// first error reported is the one Prometheus reports.
#include "promql/parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/labels.h"
#include "core/time.h"
#include "promql/lexer.h"

namespace zw::promql {
namespace {

struct ParseError {
  uint32_t pos;
  std::string message;
};

[[noreturn]] void Fail(uint32_t pos, std::string message) {
  throw ParseError{pos, std::move(message)};
}

// Binary operator precedence; 0 for tokens that are not binary operators.
int Precedence(TokenKind k) {
  switch (k) {
    case TokenKind::kOr:
      return 1;
    case TokenKind::kAnd:
    case TokenKind::kUnless:
      return 2;
    case TokenKind::kEqlc:
    case TokenKind::kNeq:
    case TokenKind::kLte:
    case TokenKind::kLss:
    case TokenKind::kGte:
    case TokenKind::kGtr:
      return 3;
    case TokenKind::kAdd:
    case TokenKind::kSub:
      return 4;
    case TokenKind::kMul:
    case TokenKind::kDiv:
    case TokenKind::kMod:
    case TokenKind::kAtan2:
      return 5;
    case TokenKind::kPow:
      return 6;
    default:
      return 0;
  }
}
constexpr int kPowPrecedence = 6;

BinaryOp ToBinaryOp(TokenKind k) {
  switch (k) {
    case TokenKind::kOr:
      return BinaryOp::kOr;
    case TokenKind::kAnd:
      return BinaryOp::kAnd;
    case TokenKind::kUnless:
      return BinaryOp::kUnless;
    case TokenKind::kEqlc:
      return BinaryOp::kEql;
    case TokenKind::kNeq:
      return BinaryOp::kNeq;
    case TokenKind::kLte:
      return BinaryOp::kLte;
    case TokenKind::kLss:
      return BinaryOp::kLss;
    case TokenKind::kGte:
      return BinaryOp::kGte;
    case TokenKind::kGtr:
      return BinaryOp::kGtr;
    case TokenKind::kAdd:
      return BinaryOp::kAdd;
    case TokenKind::kSub:
      return BinaryOp::kSub;
    case TokenKind::kMul:
      return BinaryOp::kMul;
    case TokenKind::kDiv:
      return BinaryOp::kDiv;
    case TokenKind::kMod:
      return BinaryOp::kMod;
    case TokenKind::kAtan2:
      return BinaryOp::kAtan2;
    default:
      return BinaryOp::kPow;
  }
}

// Words that may name a label in grouping lists even though they lex as keywords.
bool IsLabelLike(const Token& t) {
  switch (t.kind) {
    case TokenKind::kIdentifier:
    case TokenKind::kMetricIdentifier:
    case TokenKind::kAnd:
    case TokenKind::kOr:
    case TokenKind::kUnless:
    case TokenKind::kAtan2:
    case TokenKind::kAggregator:
    case TokenKind::kOffset:
    case TokenKind::kBy:
    case TokenKind::kWithout:
    case TokenKind::kOn:
    case TokenKind::kIgnoring:
    case TokenKind::kGroupLeft:
    case TokenKind::kGroupRight:
    case TokenKind::kBool:
      return IsLabelName(t.text);
    default:
      return false;
  }
}

// Go's strconv.ParseInt(s, 0, 64) then ParseFloat(s, 64), as Prometheus's number().
double ParseNumber(const Token& t) {
  std::string s(t.text);
  std::string lower = s;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf") return HUGE_VAL;
  if (lower == "nan") return std::nan("");
  bool hex = lower.size() > 1 && lower[0] == '0' && lower[1] == 'x';
  bool octal = !hex && lower.size() > 1 && lower[0] == '0';
  int base = hex ? 16 : octal ? 8 : 10;
  std::string_view digits = std::string_view(s).substr(hex ? 2 : 0);
  bool integral = !digits.empty();
  for (char c : digits) {
    int v = std::isdigit(static_cast<unsigned char>(c))
                ? c - '0'
                : (std::isxdigit(static_cast<unsigned char>(c)) ? 10 + std::tolower(c) - 'a' : 99);
    if (v >= base) integral = false;
  }
  if (integral) {
    errno = 0;
    long long v = std::strtoll(std::string(digits).c_str(), nullptr, base);
    if (errno == 0) return static_cast<double>(v);
  }
  auto bad = [&](std::string_view why) {
    Fail(t.pos, fmt::format("error parsing number: strconv.ParseFloat: parsing {}: {}",
                            QuoteString(s), why));
  };
  if (hex) bad("invalid syntax");
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) bad("invalid syntax");
  if (errno == ERANGE && std::isinf(v)) bad("value out of range");
  return v;
}

int64_t ParseDuration(const Token& t) {
  auto ms = ParseDurationMs(t.text);
  if (!ms.ok()) Fail(t.pos, fmt::format("not a valid duration string: {}", QuoteString(t.text)));
  return *ms;
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in), toks_(Lex(in)) {}

  ExprPtr ParseTop() {
    if (Peek().kind == TokenKind::kEof) Fail(0, "no expression found in input");
    ExprPtr e = ParseBinary(1);
    if (Peek().kind != TokenKind::kEof) Unexpected("", "");
    Check(*e);
    return e;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return toks_[std::min(next_ + ahead, toks_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = toks_[next_];
    if (next_ + 1 < toks_.size()) ++next_;
    return t;
  }
  bool Accept(TokenKind k) {
    if (Peek().kind != k) return false;
    Next();
    return true;
  }
  const Token& Expect(TokenKind k, std::string_view context, std::string_view expected) {
    if (Peek().kind != k) Unexpected(context, expected);
    return Next();
  }

  // Prometheus's parser.unexpected(): "unexpected <token>[ in <context>][, expected <x>]".
  [[noreturn]] void Unexpected(std::string_view context, std::string_view expected) const {
    const Token& t = Peek();
    if (t.kind == TokenKind::kError) Fail(t.pos, t.value);
    std::string msg = "unexpected " + DescribeToken(t);
    if (!context.empty()) msg += fmt::format(" in {}", context);
    if (!expected.empty()) msg += fmt::format(", expected {}", expected);
    Fail(t.pos, std::move(msg));
  }

  // Bounds the tree's depth so that parsing, checking, printing and destroying it (all
  // recursive) cannot exhaust the stack on hostile input. `recursion_` counts nested
  // ParseBinary calls, `depth_` additionally counts nodes stacked by loops (a+b+c+...,
  // foo[1m:][1m:]...). Prometheus has no such limit; real queries are far below it.
  static constexpr int kMaxRecursion = 200;
  static constexpr int kMaxDepth = 5000;

  struct DepthGuard {
    explicit DepthGuard(Parser& parser) : p(parser), saved_depth(parser.depth_) {
      if (++p.recursion_ > kMaxRecursion) p.TooDeep();
      p.Deeper();
    }
    ~DepthGuard() {
      --p.recursion_;
      p.depth_ = saved_depth;
    }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    Parser& p;
    int saved_depth;
  };
  void Deeper() {
    if (++depth_ > kMaxDepth) TooDeep();
  }
  [[noreturn]] void TooDeep() const { Fail(Peek().pos, "expression nesting too deep"); }

  ExprPtr ParseBinary(int min_prec) {
    DepthGuard guard(*this);
    ExprPtr lhs = ParseUnary();
    while (true) {
      int prec = Precedence(Peek().kind);
      if (prec == 0 || prec < min_prec) return lhs;
      Deeper();
      const Token& op = Next();
      auto b = std::make_unique<BinaryExpr>();
      b->op = ToBinaryOp(op.kind);
      b->op_pos = op.pos;
      ParseBinaryModifiers(*b);
      // Right-associative ^ parses its right side at its own level; the rest one above.
      b->rhs = ParseBinary(prec == kPowPrecedence ? prec : prec + 1);
      b->lhs = std::move(lhs);
      b->pos = {b->lhs->pos.start, b->rhs->pos.end};
      lhs = std::move(b);
    }
  }

  void ParseBinaryModifiers(BinaryExpr& b) {
    VectorMatching vm;
    b.return_bool = Accept(TokenKind::kBool);
    if (Peek().kind == TokenKind::kOn || Peek().kind == TokenKind::kIgnoring) {
      vm.on = Next().kind == TokenKind::kOn;
      vm.matching_labels = ParseGroupingLabels();
      if (Peek().kind == TokenKind::kGroupLeft || Peek().kind == TokenKind::kGroupRight) {
        vm.card = Next().kind == TokenKind::kGroupLeft ? Cardinality::kManyToOne
                                                       : Cardinality::kOneToMany;
        if (Peek().kind == TokenKind::kLeftParen) vm.include = ParseGroupingLabels();
      }
    }
    b.matching = std::move(vm);
  }

  // `(a, b, c)` after by/without/on/ignoring/group_x; a trailing comma is allowed.
  std::vector<std::string> ParseGroupingLabels() {
    std::vector<std::string> labels;
    Expect(TokenKind::kLeftParen, "grouping opts", "\"(\"");
    if (Accept(TokenKind::kRightParen)) return labels;
    while (true) {
      if (!IsLabelLike(Peek())) Unexpected("grouping opts", "label");
      labels.emplace_back(Next().text);
      if (Accept(TokenKind::kRightParen)) return labels;
      if (!Accept(TokenKind::kComma)) Unexpected("grouping opts", "\",\" or \")\"");
      if (Accept(TokenKind::kRightParen)) return labels;
    }
  }

  ExprPtr ParseUnary() {
    if (Peek().kind != TokenKind::kAdd && Peek().kind != TokenKind::kSub) {
      return ParsePostfix(ParsePrimary());
    }
    const Token& op = Next();
    bool negate = op.kind == TokenKind::kSub;
    uint32_t start = op.pos;
    // Unary operators bind like `*`: only `^` (and the postfix modifiers) bind tighter.
    ExprPtr operand = ParseBinary(kPowPrecedence);
    if (operand->kind == ExprKind::kNumberLiteral) {
      auto& n = operand->As<NumberLiteral>();
      if (negate) n.value = -n.value;
      n.pos.start = start;
      return operand;
    }
    auto u = std::make_unique<UnaryExpr>();
    u->negate = negate;
    u->pos = {start, operand->pos.end};
    u->expr = std::move(operand);
    return u;
  }

  ExprPtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kNumber: {
        auto n = std::make_unique<NumberLiteral>();
        n->value = ParseNumber(t);
        n->pos = {t.pos, t.end()};
        Next();
        return n;
      }
      case TokenKind::kString: {
        auto s = std::make_unique<StringLiteral>();
        s->value = t.value;
        s->pos = {t.pos, t.end()};
        Next();
        return s;
      }
      case TokenKind::kLeftParen: {
        uint32_t start = Next().pos;
        auto p = std::make_unique<ParenExpr>();
        p->expr = ParseBinary(1);
        const Token& close = Expect(TokenKind::kRightParen, "", "");
        p->pos = {start, close.end()};
        return p;
      }
      case TokenKind::kLeftBrace:
        return ParseSelector(nullptr);
      case TokenKind::kIdentifier:
        if (Peek(1).kind == TokenKind::kLeftParen) return ParseCall();
        return ParseSelector(&Next());
      case TokenKind::kMetricIdentifier:
        return ParseSelector(&Next());
      case TokenKind::kAggregator:
        // An aggregation only when its body or modifier follows; otherwise, as in
        // Prometheus's metric_identifier rule, the keyword names a metric (`sum + 1`).
        if (Peek(1).kind == TokenKind::kLeftParen || Peek(1).kind == TokenKind::kBy ||
            Peek(1).kind == TokenKind::kWithout) {
          return ParseAggregate();
        }
        return ParseSelector(&Next());
      case TokenKind::kBy:
      case TokenKind::kWithout:
      case TokenKind::kOffset:
      case TokenKind::kAnd:
      case TokenKind::kOr:
      case TokenKind::kUnless:
        // Keywords Prometheus also accepts as metric names where an expression starts.
        return ParseSelector(&Next());
      default:
        Unexpected("", "");
    }
  }

  // A vector selector; `name` is the already consumed metric name token, if any.
  ExprPtr ParseSelector(const Token* name) {
    auto vs = std::make_unique<VectorSelector>();
    if (name != nullptr) {
      vs->name = std::string(name->text);
      vs->pos = {name->pos, name->end()};
      vs->matchers.push_back(
          Matcher::MustMake(MatchType::kEqual, std::string(kMetricNameLabel), vs->name));
    }
    if (Peek().kind != TokenKind::kLeftBrace) return vs;
    uint32_t start = Next().pos;
    if (name == nullptr) vs->pos.start = start;
    while (true) {
      if (Peek().kind == TokenKind::kRightBrace) break;
      const Token& label = Expect(TokenKind::kIdentifier, "label matching", "identifier or \"}\"");
      MatchType type;
      switch (Peek().kind) {
        case TokenKind::kAssign:
          type = MatchType::kEqual;
          break;
        case TokenKind::kNeq:
          type = MatchType::kNotEqual;
          break;
        case TokenKind::kEqlRegex:
          type = MatchType::kRegexMatch;
          break;
        case TokenKind::kNeqRegex:
          type = MatchType::kRegexNoMatch;
          break;
        default:
          Unexpected("label matching", "label matching operator");
      }
      Next();
      const Token& value = Expect(TokenKind::kString, "label matching", "string");
      auto m = Matcher::Make(type, std::string(label.text), value.value);
      if (!m.ok()) Fail(label.pos, m.status().message());
      vs->matchers.push_back(std::move(m).value());
      if (Peek().kind == TokenKind::kRightBrace) break;
      if (!Accept(TokenKind::kComma)) Unexpected("label matching", "\",\" or \"}\"");
    }
    vs->pos.end = Next().end();
    return vs;
  }

  // `(arg, ...)`; the opening parenthesis is next. Sets *end to the closing one's end.
  std::vector<ExprPtr> ParseArgs(uint32_t* end) {
    std::vector<ExprPtr> args;
    Expect(TokenKind::kLeftParen, "", "");
    if (Peek().kind != TokenKind::kRightParen) {
      while (true) {
        args.push_back(ParseBinary(1));
        if (Peek().kind == TokenKind::kRightParen) break;
        const Token& comma = Expect(TokenKind::kComma, "", "");
        if (Peek().kind == TokenKind::kRightParen) {
          Fail(comma.pos, "trailing commas not allowed in function call args");
        }
      }
    }
    *end = Next().end();
    return args;
  }

  ExprPtr ParseCall() {
    const Token& name = Next();
    auto c = std::make_unique<Call>();
    uint32_t end = 0;
    c->args = ParseArgs(&end);
    c->func = FindFunction(name.text);
    if (c->func == nullptr) {
      Fail(name.pos, fmt::format("unknown function with name {}", QuoteString(name.text)));
    }
    c->pos = {name.pos, end};
    return c;
  }

  ExprPtr ParseAggregate() {
    const Token& op = Next();
    const AggregatorInfo* info = FindAggregator(op.text);
    auto a = std::make_unique<AggregateExpr>();
    a->op = info->op;
    bool grouped = false;
    auto modifier = [&] {
      if (Peek().kind != TokenKind::kBy && Peek().kind != TokenKind::kWithout) return;
      a->without = Next().kind == TokenKind::kWithout;
      a->grouping = ParseGroupingLabels();
      grouped = true;
    };
    modifier();
    if (Peek().kind != TokenKind::kLeftParen) Unexpected("aggregation", "");
    uint32_t end = 0;
    std::vector<ExprPtr> args = ParseArgs(&end);
    a->pos = {op.pos, end};
    if (!grouped) {
      modifier();
      if (grouped) a->pos.end = toks_[next_ - 1].end();
    }
    if (args.empty()) Fail(a->pos.start, "no arguments for aggregate expression provided");
    size_t want = info->param_type == ValueType::kNone ? 1 : 2;
    if (args.size() != want) {
      Fail(a->pos.start, fmt::format("wrong number of arguments for aggregate expression provided, "
                                     "expected {}, got {}",
                                     want, args.size()));
    }
    if (want == 2) a->param = std::move(args[0]);
    a->expr = std::move(args[want - 1]);
    return a;
  }

  // Range selectors, subqueries, offset and @, in any order, binding to `e`.
  ExprPtr ParsePostfix(ExprPtr e) {
    while (true) {
      if (Peek().kind == TokenKind::kLeftBracket) Deeper();
      switch (Peek().kind) {
        case TokenKind::kLeftBracket:
          e = ParseRangeOrSubquery(std::move(e));
          break;
        case TokenKind::kOffset:
          ParseOffset(*e);
          break;
        case TokenKind::kAt:
          ParseAt(*e);
          break;
        default:
          return e;
      }
    }
  }

  ExprPtr ParseRangeOrSubquery(ExprPtr e) {
    const Token& open = Next();
    if (Peek().kind != TokenKind::kDuration) Unexpected("subquery selector", "duration");
    int64_t range = ParseDuration(Next());
    if (Peek().kind == TokenKind::kRightBracket) {
      const Token& close = Next();
      const char* err = nullptr;
      if (e->kind != ExprKind::kVectorSelector) {
        err = "ranges only allowed for vector selectors";
      } else if (e->As<VectorSelector>().original_offset_ms != 0) {
        err = "no offset modifiers allowed before range";
      } else if (e->As<VectorSelector>().at.kind == AtKind::kTimestamp) {
        err = "no @ modifiers allowed before range";
      }
      if (err != nullptr) Fail(open.pos, err);
      auto m = std::make_unique<MatrixSelector>();
      m->pos = {e->pos.start, close.end()};
      m->range_ms = range;
      m->selector = std::move(e);
      return m;
    }
    if (!Accept(TokenKind::kColon)) Unexpected("subquery or range", "\":\" or \"]\"");
    auto s = std::make_unique<SubqueryExpr>();
    s->range_ms = range;
    if (Peek().kind == TokenKind::kDuration) {
      s->step_ms = ParseDuration(Next());
      if (Peek().kind != TokenKind::kRightBracket) Unexpected("subquery selector", "\"]\"");
    }
    if (Peek().kind != TokenKind::kRightBracket) {
      Unexpected("subquery selector", "duration or \"]\"");
    }
    s->pos = {e->pos.start, Next().end()};
    s->expr = std::move(e);
    return s;
  }

  // Where an offset or @ applies: the selector (or subquery) fields and the node whose
  // end position grows. Throws `what` for any other expression.
  struct ModifierTarget {
    int64_t* offset_ms;
    AtModifier* at;
  };
  ModifierTarget TargetOf(Expr& e, std::string_view what) {
    switch (e.kind) {
      case ExprKind::kVectorSelector: {
        auto& vs = e.As<VectorSelector>();
        return {&vs.original_offset_ms, &vs.at};
      }
      case ExprKind::kMatrixSelector: {
        auto& vs = e.As<MatrixSelector>().selector->As<VectorSelector>();
        return {&vs.original_offset_ms, &vs.at};
      }
      case ExprKind::kSubquery: {
        auto& s = e.As<SubqueryExpr>();
        return {&s.original_offset_ms, &s.at};
      }
      default:
        Fail(e.pos.start, fmt::format("{} modifier must be preceded by an instant vector "
                                      "selector or range vector selector or a subquery",
                                      what));
    }
  }

  void ParseOffset(Expr& e) {
    Next();
    bool negative = Accept(TokenKind::kSub);
    if (Peek().kind != TokenKind::kDuration) Unexpected("offset", "duration");
    const Token& d = Next();
    int64_t ms = ParseDuration(d);
    ModifierTarget target = TargetOf(e, "offset");
    if (*target.offset_ms != 0) Fail(e.pos.start, "offset may not be set multiple times");
    *target.offset_ms = negative ? -ms : ms;
    e.pos.end = d.end();
  }

  void ParseAt(Expr& e) {
    Next();
    AtModifier at;
    uint32_t end = 0;
    const Token& t = Peek();
    if (t.kind == TokenKind::kIdentifier && (t.text == "start" || t.text == "end") &&
        Peek(1).kind == TokenKind::kLeftParen && Peek(2).kind == TokenKind::kRightParen) {
      at.kind = t.text == "start" ? AtKind::kStart : AtKind::kEnd;
      Next();
      Next();
      end = Next().end();
    } else {
      bool negative = false;
      if (t.kind == TokenKind::kAdd || t.kind == TokenKind::kSub) {
        negative = t.kind == TokenKind::kSub;
        Next();
      }
      if (Peek().kind != TokenKind::kNumber) Unexpected("@", "timestamp");
      const Token& num = Next();
      double ts = ParseNumber(num);
      if (negative) ts = -ts;
      end = num.end();
      // Prometheus rejects what does not fit int64 milliseconds; we also reject beyond
      // 2^51 ms (~71,000 years), where printing with 3 decimals no longer round-trips.
      if (!std::isfinite(ts) || std::fabs(ts) * 1000 > 2251799813685248.0) {
        std::string shown = std::isfinite(ts) ? fmt::format("{:f}", ts) : FormatNumber(ts);
        Fail(e.pos.start, "timestamp out of bounds for @ modifier: " + shown);
      }
      at.kind = AtKind::kTimestamp;
      at.timestamp_ms = static_cast<int64_t>(std::llround(ts * 1000));
    }
    ModifierTarget target = TargetOf(e, "@");
    if (target.at->set()) Fail(e.pos.start, "@ <timestamp> may not be set multiple times");
    *target.at = at;
    e.pos.end = end;
  }

  // --- Type checking, in the order of Prometheus's checkAST. ---

  void ExpectType(Expr& e, ValueType want, std::string_view context) {
    ValueType got = Check(e);
    if (got != want) {
      Fail(e.pos.start, fmt::format("expected type {} in {}, got {}", DocumentedType(want), context,
                                    DocumentedType(got)));
    }
  }

  ValueType Check(Expr& e) {
    switch (e.kind) {
      case ExprKind::kNumberLiteral:
      case ExprKind::kStringLiteral:
        break;
      case ExprKind::kVectorSelector:
        CheckSelector(e.As<VectorSelector>());
        break;
      case ExprKind::kMatrixSelector:
        Check(*e.As<MatrixSelector>().selector);
        break;
      case ExprKind::kSubquery: {
        ValueType t = Check(*e.As<SubqueryExpr>().expr);
        if (t != ValueType::kVector) {
          Fail(e.pos.start, fmt::format("subquery is only allowed on instant vector, got {} "
                                        "instead",
                                        ValueTypeName(t)));
        }
        break;
      }
      case ExprKind::kCall:
        CheckCall(e.As<Call>());
        break;
      case ExprKind::kAggregate: {
        auto& a = e.As<AggregateExpr>();
        ExpectType(*a.expr, ValueType::kVector, "aggregation expression");
        ValueType pt = GetAggregator(a.op).param_type;
        if (pt != ValueType::kNone) ExpectType(*a.param, pt, "aggregation parameter");
        break;
      }
      case ExprKind::kBinary:
        CheckBinary(e.As<BinaryExpr>());
        break;
      case ExprKind::kUnary: {
        ValueType t = Check(*e.As<UnaryExpr>().expr);
        if (t != ValueType::kScalar && t != ValueType::kVector) {
          Fail(e.pos.start, fmt::format("unary expression only allowed on expressions of type "
                                        "scalar or instant vector, got {}",
                                        QuoteString(DocumentedType(t))));
        }
        break;
      }
      case ExprKind::kParen:
        Check(*e.As<ParenExpr>().expr);
        break;
    }
    return e.Type();
  }

  void CheckSelector(const VectorSelector& vs) {
    if (!vs.name.empty()) {
      // matchers[0] is the name itself; any other __name__ matcher sets it twice.
      for (size_t i = 1; i < vs.matchers.size(); ++i) {
        if (vs.matchers[i].name() == kMetricNameLabel) {
          Fail(vs.pos.start,
               fmt::format("metric name must not be set twice: {} or {}", QuoteString(vs.name),
                           QuoteString(vs.matchers[i].value())));
        }
      }
      return;
    }
    for (const Matcher& m : vs.matchers) {
      if (!m.MatchesEmpty()) return;
    }
    Fail(vs.pos.start, "vector selector must contain at least one non-empty matcher");
  }

  void CheckCall(Call& c) {
    const FunctionSignature& f = *c.func;
    size_t declared = f.arg_types.size();
    size_t n = c.args.size();
    if (f.variadic == 0) {
      if (n != declared) {
        Fail(c.pos.start, fmt::format("expected {} argument(s) in call to {}, got {}", declared,
                                      QuoteString(f.name), n));
      }
    } else {
      size_t min = declared - 1;
      if (n < min) {
        Fail(c.pos.start, fmt::format("expected at least {} argument(s) in call to {}, got {}", min,
                                      QuoteString(f.name), n));
      }
      size_t max = min + static_cast<size_t>(f.variadic);
      if (f.variadic > 0 && n > max) {
        Fail(c.pos.start, fmt::format("expected at most {} argument(s) in call to {}, got {}", max,
                                      QuoteString(f.name), n));
      }
    }
    for (size_t i = 0; i < n; ++i) {
      size_t k = std::min(i, declared - 1);
      ValueType got = Check(*c.args[i]);
      if (got != f.arg_types[k]) {
        Fail(c.args[i]->pos.start,
             fmt::format("expected type {} in call to function {}, got {}",
                         DocumentedType(f.arg_types[k]), QuoteString(f.name), DocumentedType(got)));
      }
    }
  }

  void CheckBinary(BinaryExpr& b) {
    ValueType lt = Check(*b.lhs);
    ValueType rt = Check(*b.rhs);
    VectorMatching& vm = *b.matching;
    std::string op = QuoteString(BinaryOpString(b.op));
    if (b.return_bool && !IsComparison(b.op)) {
      Fail(b.op_pos, "bool modifier can only be used on comparison operators");
    }
    if (IsComparison(b.op) && !b.return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      Fail(b.op_pos, "comparisons between scalars must use BOOL modifier");
    }
    if (IsSetOperator(b.op) && vm.card == Cardinality::kOneToOne) {
      vm.card = Cardinality::kManyToMany;
    }
    if (vm.on) {
      for (const std::string& l : vm.matching_labels) {
        for (const std::string& g : vm.include) {
          if (l == g) {
            Fail(b.op_pos, fmt::format("label {} must not occur in ON and GROUP clause at once",
                                       QuoteString(l)));
          }
        }
      }
    }
    if (lt != ValueType::kScalar && lt != ValueType::kVector) {
      Fail(b.lhs->pos.start, "binary expression must contain only scalar and instant vector types");
    }
    if (rt != ValueType::kScalar && rt != ValueType::kVector) {
      Fail(b.rhs->pos.start, "binary expression must contain only scalar and instant vector types");
    }
    if (lt != ValueType::kVector || rt != ValueType::kVector) {
      if (!vm.matching_labels.empty()) {
        Fail(b.pos.start, "vector matching only allowed between instant vectors");
      }
      b.matching.reset();
    } else if (IsSetOperator(b.op)) {
      if (vm.card == Cardinality::kOneToMany || vm.card == Cardinality::kManyToOne) {
        Fail(b.pos.start, fmt::format("no grouping allowed for {} operation", op));
      }
      if (vm.card != Cardinality::kManyToMany) {
        Fail(b.pos.start, "set operations must always be many-to-many");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOperator(b.op)) {
      Fail(b.pos.start, fmt::format("set operator {} not allowed in binary scalar expression", op));
    }
  }

  std::string_view in_;
  std::vector<Token> toks_;
  size_t next_ = 0;
  int recursion_ = 0;
  int depth_ = 0;
};

// "line:col" of a byte offset, both 1-based, as Prometheus's ParseErr.
std::string Position(std::string_view in, uint32_t pos) {
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos && i < in.size(); ++i) {
    if (in[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return fmt::format("{}:{}", line, pos - line_start + 1);
}

}  // namespace

Result<std::unique_ptr<Expr>> ParseExpr(std::string_view input) {
  try {
    return Parser(input).ParseTop();
  } catch (const ParseError& e) {
    return Status::InvalidArgument(
        fmt::format("{}: parse error: {}", Position(input, e.pos), e.message));
  }
}

}  // namespace zw::promql
