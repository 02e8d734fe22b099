fn main() {
    println!("frame benchmark: not written yet");
}
