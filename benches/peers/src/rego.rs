//! Rego (`regorus`): the interpreter, and the RVM bytecode VM (its fastest
//! path: the policy compiled to a register-VM program once).

use std::sync::Arc;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use regorus::{Engine, Rc, Value};

use crate::verdict::{Size, Verdict};

pub const MATRIX: &str = include_str!("../policies/matrix.rego");
pub const ENTRY: &str = "data.gate.decision";

pub fn source(size: Size) -> String {
    let mut text = String::with_capacity(MATRIX.len() + size.extra * 120);
    text.push_str(MATRIX);
    // One line per rule: regorus refuses a file of more than 20 000 lines.
    for k in 0..size.extra {
        text.push_str(&format!(
            "hits contains {{\"level\": 2, \"reason\": \"SYS_{k}\", \"evidence\": []}} if input.action.target == \"sys:{k}\"\n"
        ));
    }
    text
}

/// The interpreter: an engine with the policy added.
pub fn interpreter(size: Size) -> Engine {
    interpreter_from_text(source(size))
}

pub fn interpreter_from_text(text: String) -> Engine {
    let mut engine = Engine::new();
    if let Err(e) = engine.add_policy("matrix.rego".to_string(), text) {
        panic!("the Rego matrix does not parse: {e}");
    }
    engine
}

/// Rego compiled to an RVM program, loaded into a VM. An error when the
/// RVM cannot hold the program (it addresses at most 65 535 instructions).
pub fn vm(size: Size) -> Result<RegoVM, String> {
    vm_from_text(source(size))
}

pub fn vm_from_text(text: String) -> Result<RegoVM, String> {
    let mut engine = Engine::new();
    if let Err(e) = engine.add_policy("matrix.rego".to_string(), text) {
        panic!("the Rego matrix does not parse: {e}");
    }
    let entry: Rc<str> = ENTRY.into();
    let compiled = match engine.compile_with_entrypoint(&entry) {
        Ok(c) => c,
        Err(e) => panic!("the Rego matrix does not compile: {e}"),
    };
    let program: Arc<Program> =
        Compiler::compile_from_policy(&compiled, &[ENTRY]).map_err(|e| e.to_string())?;
    let mut vm = RegoVM::new();
    vm.load_program(program);
    // The default budget is 25 000 executed instructions per evaluation. The
    // 1 015-rule matrix stays under it; lifted so no size is cut short.
    vm.set_max_instructions(usize::MAX);
    Ok(vm)
}

#[inline(never)]
pub fn eval_vm(vm: &mut RegoVM, input: Value) -> Value {
    vm.set_input(input);
    vm.execute().expect("the RVM evaluates")
}

#[inline(never)]
pub fn eval_interpreter(engine: &mut Engine, input: Value) -> Value {
    engine.set_input(input);
    engine
        .eval_rule(ENTRY.to_string())
        .expect("the interpreter evaluates")
}

/// The outcome level of a `decision` value (what a caller reads first).
pub fn level(decision: &Value) -> u8 {
    decision["level"]
        .as_u64()
        .map(|l| l as u8)
        .unwrap_or(u8::MAX)
}

pub fn verdict(decision: &Value) -> Verdict {
    let reasons: Vec<String> = match decision["reasons"].as_set() {
        Ok(set) => set
            .iter()
            .map(|r| {
                r.as_string()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| format!("{r}"))
            })
            .collect(),
        Err(_) => vec![format!("<no reasons: {decision}>")],
    };
    Verdict::new(level(decision), reasons)
}
